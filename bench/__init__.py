"""The benchmark command: the product's speed at scale, each figure beside a baseline."""
