"""Embedding shard files: one deterministic slice of a corpus, its passages and their vectors, in one file.

This is DPR's ``generate_dense_embeddings.py`` workflow: shard ``I`` of ``N`` holds the passages of the
``I``-th of ``N`` contiguous, equal (within one) ranges of the corpus's documents, so any machine can encode
any shard and the union of the ``N`` files is the whole corpus exactly once. Each file is a safetensors file,
written atomically (complete or absent), with three tensors and a header:

- ``embeddings``: float32 (passages, dim); ``ids``: UTF-8 JSON list of passage ids; ``passages``: UTF-8
  JSON list of ``{"content", "meta"}`` (what a store needs besides the vector);
- header (safetensors metadata): format version, ``shard`` ("I/N"), the shard's document range, the corpus's
  document count and digest, and the encoder signature as JSON.

:func:`check_shards` refuses, naming the file, a set with a missing shard, two files for one shard, files of
another corpus or sharding, a passage present in two shards, or a shard made by another encoder;
:func:`load_shards` then writes them, in shard order whatever the order the files are found in, into any
Haystack document store's ``write_documents`` (HybridDocumentStore, Elasticsearch...).

Example::

    from dpr_components.indexing.shards import ShardSpec, load_shards
    spec = ShardSpec.parse("3/8")                      # shard 3 of 8 (0-based)
    spec.document_range(21_015_324)                    # (7880748, 10507662)
    load_shards("embeddings/", store)                  # all 8 checked, then written
"""
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.errors import ConfigurationError, StoreError
from dpr_components.stores.encoder_records import differences
from dpr_components.stores.protocols import SignedVectorStore
from dpr_components.utils.files import TEMPORARY_MARK, atomic_write

FORMAT = "dpr-components/embeddings-v1"
SUFFIX = ".safetensors"
NAME = re.compile(r"^embeddings-(\d+)-of-(\d+)\.safetensors$")


class ShardError(StoreError):
    """A set of embedding shard files is incomplete, inconsistent or made by another encoder."""


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` (0-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "ShardSpec":
        """``"3/8"`` -> ShardSpec(3, 8)."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
        if not match or not 0 <= int(match.group(1)) < int(match.group(2)):
            raise ConfigurationError(f"Cannot read the shard {text!r}: write I/N with 0 <= I < N, e.g. --shard 0/8.")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def file_name(self) -> str:
        return f"embeddings-{self.index:05d}-of-{self.count:05d}{SUFFIX}"

    def document_range(self, documents: int) -> Tuple[int, int]:
        """[start, end) of this shard's documents among ``documents``: contiguous, sizes differ by one at most."""
        size, extra = divmod(documents, self.count)
        start = self.index * size + min(self.index, extra)
        return start, start + size + (1 if self.index < extra else 0)


@dataclass
class ShardHeader:
    """What a shard file says about itself (read without loading its tensors)."""

    path: Path
    spec: ShardSpec
    document_range: Tuple[int, int]
    corpus_documents: int
    corpus_digest: str
    encoder: Dict[str, Any]
    passages: int

    def to_metadata(self) -> Dict[str, str]:
        start, end = self.document_range
        return {"format": FORMAT, "shard": str(self.spec), "documents": f"{start}-{end}",
                "corpus_documents": str(self.corpus_documents), "corpus_digest": self.corpus_digest,
                "encoder": json.dumps(self.encoder, sort_keys=True), "passages": str(self.passages)}

    @classmethod
    def read(cls, path: Union[str, Path]) -> "ShardHeader":
        path = Path(path)
        try:
            with safe_open(str(path), framework="np") as stream:
                metadata = stream.metadata() or {}
        except Exception as error:  # noqa: BLE001 -- any unreadable file gets the same one-line message
            raise ShardError(f"Embedding shard {path} cannot be read ({error}); re-encode it with --shard.") from None
        if metadata.get("format") != FORMAT:
            raise ShardError(f"{path} is not a dpr-components embedding shard (format {metadata.get('format')!r}, "
                             f"expected {FORMAT!r}); remove it from the directory or re-encode it.")
        start, end = (int(value) for value in metadata["documents"].split("-"))
        return cls(path, ShardSpec.parse(metadata["shard"]), (start, end), int(metadata["corpus_documents"]),
                   metadata["corpus_digest"], json.loads(metadata["encoder"]), int(metadata["passages"]))


class CorpusDigest:
    """A running digest of a corpus's documents (ids, titles, texts), to tell shards of two corpora apart."""

    def __init__(self) -> None:
        self._hash, self.documents = hashlib.sha256(), 0

    def add(self, document_id: str, title: str, text: str) -> None:
        for part in (document_id, title, text):
            data = part.encode("utf-8")
            self._hash.update(len(data).to_bytes(8, "little") + data)
        self.documents += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()[:16]


def write_shard(directory: Union[str, Path], header: ShardHeader, ids: List[str], passages: List[Dict[str, Any]],
                embeddings: np.ndarray) -> Path:
    """Write one shard file atomically; returns its path (``header.path`` is set to it)."""
    embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or len(embeddings) != len(ids) or len(ids) != len(passages):
        raise StoreError(f"Shard {header.spec}: {len(ids)} ids, {len(passages)} passages and embeddings of shape "
                         f"{embeddings.shape} do not match; nothing was written.")
    header.path, header.passages = Path(directory) / header.spec.file_name, len(ids)
    tensors = {"embeddings": embeddings.reshape(len(ids), -1) if len(ids) else embeddings.reshape(0, 0),
               "ids": _json_bytes(ids), "passages": _json_bytes(passages)}
    atomic_write(header.path, lambda temporary: save_file(tensors, str(temporary), metadata=header.to_metadata()))
    return header.path


def read_shard(path: Union[str, Path]) -> Tuple[ShardHeader, List[str], List[Dict[str, Any]], np.ndarray]:
    """(header, passage ids, passages, embeddings) of one shard file."""
    header = ShardHeader.read(path)
    with safe_open(str(path), framework="np") as stream:
        ids = json.loads(stream.get_tensor("ids").tobytes())
        passages = json.loads(stream.get_tensor("passages").tobytes())
        embeddings = stream.get_tensor("embeddings")
    return header, ids, passages, embeddings


def read_ids(path: Union[str, Path]) -> List[str]:
    with safe_open(str(path), framework="np") as stream:
        return json.loads(stream.get_tensor("ids").tobytes())


def existing_shard(directory: Union[str, Path], spec: ShardSpec, corpus_digest: str,
                   encoder: Dict[str, Any]) -> Optional[ShardHeader]:
    """The header of this shard's file in ``directory`` if it was made from this corpus by this encoder."""
    path = Path(directory) / spec.file_name
    if not path.is_file():
        return None
    try:
        header = ShardHeader.read(path)
    except ShardError:
        return None
    same = header.spec == spec and header.corpus_digest == corpus_digest and not _differences(header.encoder, encoder)
    return header if same else None


def shard_files(directory: Union[str, Path]) -> List[Path]:
    """The shard files of ``directory``, without those being written (another worker's, or a killed run's)."""
    directory = Path(directory)
    paths = directory.glob(f"*{SUFFIX}") if directory.is_dir() else []
    return sorted(path for path in paths if not path.name.startswith(TEMPORARY_MARK))


def folder_sharding(directory: Union[str, Path, None]) -> Optional[ShardHeader]:
    """The header of the first shard file in ``directory`` (None when it holds none): its sharding, corpus and
    encoder, which every other file there shares."""
    paths = shard_files(directory) if directory else []
    return ShardHeader.read(paths[0]) if paths else None


def check_folder_takes(directory: Union[str, Path], count: int, corpus_digest: str, encoder: Dict[str, Any]) -> None:
    """Refuse, before anything is encoded, shards that would leave ``directory`` holding two shardings, two
    corpora or two encoders (:func:`check_shards` could not load it any more)."""
    found = folder_sharding(directory)
    if found is None:
        return
    reasons = [f"it is sharded in {found.spec.count}, this job in {count}"] if found.spec.count != count else []
    if found.corpus_digest != corpus_digest:
        reasons.append(f"its corpus is {found.corpus_digest}, this job's {corpus_digest}")
    if _differences(found.encoder, encoder):
        reasons.append(f"its encoder differs ({_differences(found.encoder, encoder)})")
    if reasons:
        only_count = len(reasons) == 1 and count != found.spec.count
        resume = f", or {found.spec.count} shards to resume it" if only_count else ""
        raise ShardError(f"{directory} holds the shards of another job ({found.path.name}: {'; '.join(reasons)}). A "
                         f"folder holds one sharding of one corpus by one encoder: give another folder{resume}.")


def check_shards(directory: Union[str, Path]) -> List[ShardHeader]:
    """Headers of every shard in ``directory``, in shard order, after checking that they make one corpus
    exactly once with one encoder."""
    directory = Path(directory)
    paths = shard_files(directory)
    if not paths:
        raise ShardError(f"No embedding shards (*{SUFFIX}) in {directory}. Make them with "
                         f"`dpr-components index CORPUS --shard I/N --embeddings {directory}`.")
    headers = sorted((ShardHeader.read(path) for path in paths), key=lambda h: (h.spec.index, h.path.name))
    first = headers[0]
    for header in headers:
        if (header.spec.count, header.corpus_digest, header.corpus_documents) != (
                first.spec.count, first.corpus_digest, first.corpus_documents):
            raise ShardError(
                f"{header.path.name} is shard {header.spec} of corpus {header.corpus_digest} "
                f"({header.corpus_documents} documents) but {first.path.name} is shard {first.spec} of corpus "
                f"{first.corpus_digest} ({first.corpus_documents} documents): keep one sharding of one corpus "
                f"in {directory}.")
        differences = _differences(first.encoder, header.encoder)
        if differences:
            raise ShardError(f"{header.path.name} was embedded by another encoder than {first.path.name} "
                             f"({differences}); re-encode it with the same encoder settings, or remove it.")
    seen: Dict[int, ShardHeader] = {}
    for header in headers:
        if header.spec.index in seen:
            raise ShardError(f"Shard {header.spec} is in {directory} twice: {seen[header.spec.index].path.name} and "
                             f"{header.path.name}; remove one of them.")
        seen[header.spec.index] = header
        expected = header.spec.document_range(header.corpus_documents)
        if header.document_range != expected:
            raise ShardError(f"{header.path.name} holds documents {header.document_range} but shard {header.spec} "
                             f"of {header.corpus_documents} documents is {expected}; re-encode it.")
    missing = [ShardSpec(index, first.spec.count) for index in range(first.spec.count) if index not in seen]
    if missing:
        names = ", ".join(f"{spec} ({spec.file_name})" for spec in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ShardError(f"{len(missing)} of {first.spec.count} shards missing from {directory}: {names}. Encode "
                         f"them with `dpr-components index CORPUS --shard {missing[0]} --embeddings {directory}`.")
    owner: Dict[str, str] = {}
    for header in headers:
        for passage_id in read_ids(header.path):
            if passage_id in owner:
                where = "twice in" if owner[passage_id] == header.path.name else f"in {owner[passage_id]} and"
                raise ShardError(f"Passage {passage_id!r} is {where} {header.path.name}: the corpus repeats a "
                                 f"document id or the shards overlap; fix the corpus ids and re-encode.")
            owner[passage_id] = header.path.name
    return headers


def documents_of(ids: List[str], passages: List[Dict[str, Any]], embeddings: np.ndarray) -> Iterator[Dict[str, Any]]:
    """Haystack document dicts (with their embedding) of one shard."""
    for passage_id, passage, embedding in zip(ids, passages, embeddings):
        yield {"id": passage_id, "content": passage["content"], "meta": passage["meta"], "embedding": embedding}


def write_to_store(store: Any, ids: List[str], passages: List[Dict[str, Any]], embeddings: np.ndarray,
                   encoder: Dict[str, Any], batch_size: int = 10_000) -> None:
    """Write one shard's passages with their vectors into ``store``; a
    :class:`~dpr_components.stores.protocols.SignedVectorStore` records the encoder and refuses another one."""
    documents = list(documents_of(ids, passages, embeddings))
    extra = {"encoder_signature": EncoderSignature.from_dict(encoder)} if isinstance(store, SignedVectorStore) else {}
    for start in range(0, len(documents), batch_size):
        store.write_documents(documents[start:start + batch_size], **extra)


def check_store_encoder(store: Any, encoder: Dict[str, Any]) -> None:
    """Refuse, before anything is written, vectors of ``encoder`` for a store holding another encoder's."""
    if isinstance(store, SignedVectorStore):
        store.check_encoder(EncoderSignature.from_dict(encoder), writing=True)


def load_shards(directory: Union[str, Path], store: Any, batch_size: int = 10_000,
                progress_bar: bool = True) -> Dict[str, Any]:
    """Check every shard of ``directory`` (see :func:`check_shards`), then write them into ``store`` in shard
    order; a shard whose passages are all in the store already is not written again. Returns ``{"shards",
    "shards_loaded", "shards_already_loaded", "passages", "corpus_documents"}``."""
    from tqdm import tqdm

    headers = check_shards(directory)
    check_store_encoder(store, headers[0].encoder)
    total, already = sum(header.passages for header in headers), 0
    with tqdm(total=total, unit="passage", desc="Loading shards", disable=not progress_bar) as bar:
        for header in headers:
            if _in_store(store, read_ids(header.path)):
                already += 1
            else:
                _, ids, passages, embeddings = read_shard(header.path)
                write_to_store(store, ids, passages, embeddings, header.encoder, batch_size)
            bar.update(header.passages)
    if isinstance(store, SignedVectorStore):
        store.build_indexes()
    return {"shards": len(headers), "shards_loaded": len(headers) - already, "shards_already_loaded": already,
            "passages": total, "corpus_documents": headers[0].corpus_documents}


def _in_store(store: Any, ids: List[str]) -> bool:
    """Whether every passage of a shard is stored (one look-up when the first is not: the usual first load)."""
    if ids and not store.get_documents_by_id(ids[:1]):
        return False
    return len(store.get_documents_by_id(ids)) == len(set(ids))


def _differences(expected: Dict[str, Any], found: Dict[str, Any]) -> str:
    """What makes two recorded signatures incomparable ("" if nothing), by the store's one rule."""
    return "; ".join(differences(EncoderSignature.from_dict(expected), EncoderSignature.from_dict(found)))


def _json_bytes(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), dtype=np.uint8).copy()
