"""Runtime adapters: the same spec as native PyTorch, Keras and Optax schedules (each framework imported lazily)."""
