"""The small networks hwsim trains on the handwritten digits to *measure* accuracy under sparsity.

One file per family (forward with the sparsity applied, backward, training); :mod:`.data` is the
split every family shares, :mod:`.core` the numpy building blocks, :mod:`.weights` the
reproducible weight files. Trained by ``python -m hwsim.accuracy.train_digits``; evaluated by
:mod:`hwsim.accuracy.measured`.
"""
