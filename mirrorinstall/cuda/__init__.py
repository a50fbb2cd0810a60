"""CUDA: the driver/framework tables, the pure choice of a build, the host's driver and GPUs
(detection), and ``verify`` (does the framework really use the GPU)."""
