"""Qt-free machine-learning core: data, model, training, evaluation, inference.

Nothing here imports Keras or TensorFlow at module level, so the GUI can import
these modules (for their types) before TensorFlow has loaded.
"""

import os

# TensorFlow's C++ start-up chatter (CUDA probes, oneDNN notes) is noise for users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
