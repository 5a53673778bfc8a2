"""Import and export of labels: Pascal VOC, COCO JSON, YOLO txt, Label Studio JSON, CSV and
JSON Lines; ``session.export`` / ``session.import_labels`` (see :mod:`nblabel.io.session_io`)
work on whole sessions."""

from nblabel.io._common import FormatError
from nblabel.io.coco import read_coco, write_coco
from nblabel.io.labelstudio import read_label_studio, write_label_studio
from nblabel.io.voc import VocAnnotation, read_voc, read_voc_dir, write_voc
from nblabel.io.yolo import read_yolo, read_yolo_classes, write_yolo, write_yolo_classes

__all__ = [
    "FormatError",
    "VocAnnotation",
    "read_coco",
    "read_label_studio",
    "read_voc",
    "read_voc_dir",
    "read_yolo",
    "read_yolo_classes",
    "write_coco",
    "write_label_studio",
    "write_voc",
    "write_yolo",
    "write_yolo_classes",
]
