"""OpenCV backend: cv2.resize bicubic, the no-model baseline."""
