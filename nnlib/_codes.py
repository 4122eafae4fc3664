"""Integer codes by which the compiled kernels receive activations, losses and optimisers."""
IDENTITY, SIGMOID, TANH, RELU, SOFTMAX = 0, 1, 2, 3, 4
MSE, BCE, CROSS_ENTROPY = 0, 1, 2
SGD_CODE, ADAM_CODE = 0, 1
OK, DIVERGED, STOPPED = 0, 1, 2  # status returned by train_kernels.train_epochs
