"""Benchmarks of the KinesisVideoStreamPool construct against the ways users could do without it.

``python -m bench`` (``make bench``) runs every case side by side, prints one table of medians and
ratios, and rewrites ``bench/README.md`` with that table and a wait-latency chart. The machine is
shared and noisy, so nothing here reports a single absolute time as a result: repeated runs,
medians, and ratios against a peer measured in the same run.
"""
