"""Import and export of box labels: Pascal VOC, COCO JSON and YOLO txt."""

from nblabel.io._common import FormatError
from nblabel.io.coco import read_coco, write_coco
from nblabel.io.voc import VocAnnotation, read_voc, read_voc_dir, write_voc
from nblabel.io.yolo import read_yolo, read_yolo_classes, write_yolo, write_yolo_classes

__all__ = [
    "FormatError",
    "VocAnnotation",
    "read_coco",
    "read_voc",
    "read_voc_dir",
    "read_yolo",
    "read_yolo_classes",
    "write_coco",
    "write_voc",
    "write_yolo",
    "write_yolo_classes",
]
