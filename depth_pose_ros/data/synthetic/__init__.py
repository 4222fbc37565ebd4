"""Synthetic Kinect v2 / ToF depth frames of people with exact ground truth."""
