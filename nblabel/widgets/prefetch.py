"""Encoded display images of items, prepared ahead in a background thread.

"Next" then finds the bytes ready instead of waiting for the disk and the encoder.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image

from nblabel.data.images import encode_for_display
from nblabel.data.items import ItemSet

__all__ = ["DisplayImage", "ImagePrefetcher", "encode_item"]


@dataclass(frozen=True)
class DisplayImage:
    """Bytes to send and the full-resolution size box coordinates refer to."""

    data: bytes
    format: str  # "jpeg" | "png"
    width: int
    height: int


def encode_item(items: ItemSet, position: int, max_side: int) -> DisplayImage:
    """Encode one item's image for display (the file's own bytes when they fit)."""
    item = items[position]
    path = item.path
    if path is None:  # an in-memory array
        loaded = item.image(max_side=max_side)
        buf = io.BytesIO()
        Image.fromarray(loaded.pixels).save(buf, format="JPEG", quality=90)
        return DisplayImage(buf.getvalue(), "jpeg", loaded.width, loaded.height)
    data, fmt, _loaded = encode_for_display(path, max_side=max_side)
    width, height = item.size()
    return DisplayImage(data, fmt, width, height)


class ImagePrefetcher:
    """LRU cache of :class:`DisplayImage` futures filled by one worker thread.

    Parameters
    ----------
    items : ItemSet
        Where images come from.
    max_side : int
        Longer side of the sent image; larger images are reduced once.
    cache_size : int
        Encoded images kept (current, previous and the ones ahead).
    """

    def __init__(self, items: ItemSet, *, max_side: int = 1600, cache_size: int = 8) -> None:
        self.items = items
        self.max_side = max_side
        self.cache_size = cache_size
        self._cache: OrderedDict[int, Future[DisplayImage]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def _future(self, position: int) -> Future[DisplayImage]:
        with self._lock:
            fut = self._cache.get(position)
            if fut is None:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(1, thread_name_prefix="nblabel-prefetch")
                fut = self._pool.submit(encode_item, self.items, position, self.max_side)
                self._cache[position] = fut
            self._cache.move_to_end(position)
            while len(self._cache) > self.cache_size:
                _, old = self._cache.popitem(last=False)
                old.cancel()
            return fut

    def get(self, position: int) -> DisplayImage:
        """The encoded image of ``position`` (waits if not ready; raises its error).
        A failed image is not cached, so the next call retries."""
        fut = self._future(position)
        if not fut.done() and not fut.running():
            # still queued behind prefetches: encode here rather than wait for them
            with self._lock:
                if self._cache.get(position) is fut:
                    del self._cache[position]
            fut.cancel()
            result = encode_item(self.items, position, self.max_side)
            done: Future[DisplayImage] = Future()
            done.set_result(result)
            with self._lock:
                self._cache[position] = done
            return result
        try:
            return fut.result()
        except Exception:
            with self._lock:
                if self._cache.get(position) is fut:
                    del self._cache[position]
            raise

    def warm(self, positions: list[int]) -> None:
        """Start encoding ``positions`` in the background (in that order)."""
        for p in positions:
            self._future(int(p))

    def cached(self, position: int) -> bool:
        """Whether ``position`` is encoded and waiting."""
        with self._lock:
            fut = self._cache.get(position)
        return (fut is not None and fut.done() and not fut.cancelled()
                and fut.exception() is None)

    def close(self) -> None:
        """Stop the worker (queued work is cancelled)."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._cache.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
