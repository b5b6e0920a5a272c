"""Pure GRPO math (tensors in, tensors out): group advantages, policy losses, group surgery.

Import-light on purpose: only torch, no transformers, so it can be cross-checked against other implementations.
"""
