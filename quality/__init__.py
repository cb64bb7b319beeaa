"""Fitting and measuring: the tuning, evaluation and training code behind
``quotebot tune``, ``quotebot eval`` and ``bench/``. Nothing here runs when a
question is answered."""
