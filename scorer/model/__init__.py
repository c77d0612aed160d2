"""The model: its card, the TFLite runtimes and kernels, the trial in a child process."""
