"""Small helpers every layer uses: atomic files, progress, quiet native libraries."""
