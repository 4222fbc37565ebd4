"""Depth frame in, skeletons out, without ROS: backends, person proposals, 3D, the estimator."""
