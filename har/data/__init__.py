"""From video files to frames: decoding and sampling, the frame cache, datasets, and encoding
for browsers."""
