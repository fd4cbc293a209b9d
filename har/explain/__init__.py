"""Explain: where in a video an action happens, and why each model answered as it did.

Four views, for every model side by side: a timeline of predictions over sliding windows
of a long video (`timeline`: decoded once, streaming), which of a clip's frames mattered
(`occlusion`), which pixels mattered (`saliency`: Grad-CAM, or gradient x input where
Grad-CAM does not fit), and what-if variants of a clip that show whether a model uses motion
or only appearance (`whatif`); `report` gathers them for a clip and writes them as files.
Every prediction goes through `har.inference.Predictor`; TensorFlow is imported lazily.
"""
