"""MMBench (dev, English by default) with circular evaluation."""
