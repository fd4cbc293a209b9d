"""Plotly figures (no Streamlit)."""
