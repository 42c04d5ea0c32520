"""Drawing a demo result onto its frame: the region of interest in OK green or DEFECT red, the class and its
confidence, the running defect count and the processed rate. Draws in place (the frame is the pipeline's own)."""

from __future__ import annotations

import cv2
import numpy as np

OK_COLOUR = (40, 200, 70)  # RGB
DEFECT_COLOUR = (230, 40, 40)
TEXT_COLOUR = (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def annotate(image: np.ndarray, roi: tuple[int, int, int, int], defect: bool, confidence: float,
             defects: int, fps: float | None = None) -> np.ndarray:
    """Annotate ``image`` (RGB H×W×3 uint8) in place for a result on ``roi`` (x, y, w, h pixels); returns it."""
    x, y, w, h = roi
    colour = DEFECT_COLOUR if defect else OK_COLOUR
    thick = max(2, image.shape[0] // 240)
    cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), colour, thick)
    text = f"{'DEFECT' if defect else 'OK'} {confidence:.0%}"
    scale = max(0.5, image.shape[0] / 720)
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thick)
    top = max(0, y - th - base - 4)
    cv2.rectangle(image, (x, top), (x + tw + 6, top + th + base + 4), colour, cv2.FILLED)
    cv2.putText(image, text, (x + 3, top + th + 2), _FONT, scale, TEXT_COLOUR, thick, cv2.LINE_AA)
    status = f"defects: {defects}" + (f"   {fps:.0f} FPS" if fps else "")
    cv2.putText(image, status, (8, image.shape[0] - 10), _FONT, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(image, status, (8, image.shape[0] - 10), _FONT, scale, TEXT_COLOUR, thick, cv2.LINE_AA)
    return image
