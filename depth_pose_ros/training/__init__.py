"""Training DepthPoseNet: samples, the training loop, checkpoints and logs."""
