"""Provider packages behind one contract; see `base.py` and `registry.py`."""
