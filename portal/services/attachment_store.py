"""Where attachments' bytes are kept, behind one small interface.

An `AttachmentStore` keeps opaque bytes under a key the attachments service makes
(`<public id>.full`, `<public id>.thumbnail`: letters, digits, `-`, `_` and one `.`):

- `put(key, data)`: keep the bytes (a key is written once: a new image gets a new key);
- `get(key)`: the bytes, or None when nothing is kept under the key;
- `get_many(keys)`: the bytes of several keys at once, by key (missing ones left out);
- `delete(keys)`: forget them (a missing key is no error);
- `keys_before(moment)`: the keys written before that moment, for tidying up bytes no row
  names any more (an upload whose transaction rolled back);
- `transactional`: whether put and delete commit and roll back with the database's
  transaction. When they do not, the service deletes only after the commit (a rolled-back
  deletion must not lose the bytes of rows that stay) and `prune` removes what a rolled-back
  upload left behind.

Two stores are built in, chosen by the ATTACHMENT_STORE setting:

- `DatabaseStore` (the default): a row per key in `attachment_blobs`. It needs nothing more on
  SQLite or PostgreSQL, serves any number of app processes, and every backup has the images.
- `DirectoryStore`: files in ATTACHMENT_DIRECTORY (a folder every app process shares), two
  letters of fan-out (`ab/abcdef.full`), each written whole then renamed into place.

An object store (S3 and the like) fits the same interface: put is a PUT of the object, get a
GET (None on 404), delete a batch delete, keys_before a listing filtered by LastModified; it
is not transactional.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AttachmentBlob
from portal.services import environment

KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}\.[a-z]{1,12}")


class AttachmentStore(Protocol):
    """Keeps attachments' bytes by key (see the module's docstring)."""

    transactional: bool

    def put(self, key: str, data: bytes) -> None:
        """Keep these bytes under this key."""
        ...

    def get(self, key: str) -> bytes | None:
        """The bytes kept under this key, or None."""
        ...

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The bytes kept under these keys, by key; missing ones are left out."""
        ...

    def delete(self, keys: Iterable[str]) -> None:
        """Forget the bytes under these keys (missing ones are no error)."""
        ...

    def keys_before(self, moment: datetime) -> Iterator[str]:
        """The keys written before this moment."""
        ...


def _checked(key: str) -> str:
    """A key as the service makes them; anything else (a path, say) is a programming error."""
    if not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"not an attachment store key: {key!r}")
    return key


class DatabaseStore:
    """Bytes in the attachment_blobs table, inside the request's own transaction."""

    transactional = True

    def put(self, key: str, data: bytes) -> None:
        """Keep these bytes under this key."""
        db.session.add(AttachmentBlob(key=_checked(key), data=data))
        db.session.flush()

    def get(self, key: str) -> bytes | None:
        """The bytes kept under this key, or None."""
        # Read as a column, so the bytes never sit in the session's identity map.
        return db.session.scalar(
            sa.select(AttachmentBlob.data).where(AttachmentBlob.key == _checked(key))
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The bytes kept under these keys, by key, in one query."""
        wanted = [_checked(key) for key in keys]
        if not wanted:
            return {}
        rows = db.session.execute(
            sa.select(AttachmentBlob.key, AttachmentBlob.data).where(AttachmentBlob.key.in_(wanted))
        )
        return {key: data for key, data in rows}

    def delete(self, keys: Iterable[str]) -> None:
        """Forget the bytes under these keys."""
        wanted = [_checked(key) for key in keys]
        if wanted:
            db.session.execute(
                sa.delete(AttachmentBlob)
                .where(AttachmentBlob.key.in_(wanted))
                .execution_options(synchronize_session=False)
            )

    def keys_before(self, moment: datetime) -> Iterator[str]:
        """The keys written before this moment."""
        yield from db.session.scalars(
            sa.select(AttachmentBlob.key)
            .where(AttachmentBlob.created_at < moment)
            .order_by(AttachmentBlob.key)
        )


class DirectoryStore:
    """Bytes in files under one folder, shared by every app process."""

    transactional = False

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        key = _checked(key)
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        """Keep these bytes under this key: written to a temporary file, then renamed, so a
        reader never sees half a file."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        """The bytes kept under this key, or None."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The bytes kept under these keys, by key."""
        found = {key: self.get(key) for key in keys}
        return {key: data for key, data in found.items() if data is not None}

    def delete(self, keys: Iterable[str]) -> None:
        """Forget the files under these keys."""
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def keys_before(self, moment: datetime) -> Iterator[str]:
        """The keys whose files were written before this moment."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("??/*")):
            if KEY_PATTERN.fullmatch(path.name) and path.stat().st_mtime < moment.timestamp():
                yield path.name


def current_store() -> AttachmentStore:
    """The store the settings name (ATTACHMENT_STORE)."""
    settings = environment.current().settings
    if settings.attachment_store == "directory":
        return DirectoryStore(settings.attachment_directory)
    return DatabaseStore()
