"""MNIST Draw's measuring tools: drawn-digit and real-handwriting benchmarks, speed and memory, and
the browser driver. Not part of the product (the wheel holds only mnist_core); run them with
`python -m benchmarks --help` from the project folder."""
