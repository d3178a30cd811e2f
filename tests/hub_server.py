"""A local stand-in for the Hugging Face Hub on 127.0.0.1: the part of its API huggingface_hub calls to create a
dataset repo, upload (pre-upload, the git LFS batch API with basic transfer, commit), branch, tag and download
(repo info, tree, resolve). Enough for `station push` and `snapshot_download` to run their real code paths.

Repos live in memory as commits mapping path -> content. Faults are injected per request (method, path
pattern, HTTP status) so tests can interrupt an upload or map each status code to its line.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = "hf_test_token_0123456789"
USER = "tester"
ORGS = ("lab",)
LFS_SUFFIXES = (".parquet", ".mp4", ".bin")


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


@dataclass
class Entry:
    content: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def oid(self) -> str:
        """What the preupload endpoint reports: sha256 for LFS files, the git blob id for regular ones."""
        return self.sha256 if self.lfs else git_blob_id(self.content)

    @property
    def blob_id(self) -> str:
        return git_blob_id(lfs_pointer(self.sha256, len(self.content))) if self.lfs else git_blob_id(self.content)


@dataclass
class Repo:
    private: bool
    commits: dict[str, dict[str, Entry]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, rev: str) -> str | None:
        if rev in self.branches:
            return self.branches[rev]
        if rev in self.tags:
            return self.tags[rev]
        return rev if rev in self.commits else None


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    skip: int = 0  # let this many matching requests through first
    times: int = 1


class HubState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.lfs_uploaded: list[str] = []  # oids whose bytes came in, in order
        self.commit_count = 0

    def commit(self, repo: Repo, branch: str, files: dict[str, Entry], message: str) -> str:
        parent = repo.branches.get(branch, "")
        sha = hashlib.sha1(f"{parent}\n{message}\n{self.commit_count}\n{sorted(files)}".encode()).hexdigest()
        self.commit_count += 1
        repo.commits[sha] = files
        repo.branches[branch] = sha
        return sha


class Handler(BaseHTTPRequestHandler):
    server: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # ----- plumbing --------------------------------------------------------------------------------

    @property
    def state(self) -> HubState:
        return self.server.state

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, payload: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload if payload is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if raw is None else "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def error(self, status: int, message: str, code: str | None = None) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self.send(status, {"error": message}, headers)

    def user(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return USER if auth == f"Bearer {TOKEN}" else None

    def may_write(self, repo_id: str) -> bool:
        return repo_id.split("/")[0] in (USER, *ORGS)

    def fault(self, path: str) -> bool:
        with self.state.lock:
            for f in self.state.faults:
                if f.method == self.command and re.search(f.pattern, path) and f.times > 0:
                    if f.skip > 0:
                        f.skip -= 1
                        continue
                    f.times -= 1
                    status = f.status
                    break
            else:
                return False
        self.body()
        self.error(status, f"injected {status}")
        return True

    def route(self) -> None:
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        with self.state.lock:
            self.state.requests.append((self.command, path))
        if self.fault(path):
            return
        for method, pattern, handler in ROUTES:
            m = re.fullmatch(pattern, path)
            if m and method == self.command:
                handler(self, *[unquote(g) if g is not None else None for g in m.groups()], query=query)
                return
            if m and method == "GET" and self.command == "HEAD":
                handler(self, *[unquote(g) if g is not None else None for g in m.groups()], query=query)
                return
        self.body()
        self.error(404, f"no route for {self.command} {path}")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = route

    # ----- API -------------------------------------------------------------------------------------

    def repo_or_error(self, repo_id: str, write: bool = False) -> Repo | None:
        user = self.user()
        repo = self.state.repos.get(repo_id)
        if write and user is None:
            self.error(401, "Invalid credentials in Authorization header")
            return None
        if repo is None or (repo.private and user is None):
            self.error(404, "Repository not found", "RepoNotFound")
            return None
        if write and not self.may_write(repo_id):
            self.error(403, "You don't have the rights to write to this repo")
            return None
        return repo

    def whoami(self, query: dict) -> None:
        if self.user() is None:
            self.error(401, "Invalid credentials in Authorization header")
            return
        self.send(200, {"type": "user", "name": USER, "orgs": [{"name": o} for o in ORGS],
                        "auth": {"type": "access_token", "accessToken": {"role": "write"}}})

    def validate_yaml(self, query: dict) -> None:
        self.body()
        self.send(200, {"errors": [], "warnings": []})

    def create_repo(self, query: dict) -> None:
        payload = json.loads(self.body() or b"{}")
        if self.user() is None:
            self.error(401, "Invalid credentials in Authorization header")
            return
        repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
        if not self.may_write(repo_id):
            self.error(403, "You don't have the rights to create a repo in this namespace")
            return
        with self.state.lock:
            if repo_id in self.state.repos:
                self.send(409, {"error": "You already created this dataset repo",
                                "url": f"{self.base}/datasets/{repo_id}"},
                          {"X-Error-Message": "You already created this dataset repo"})
                return
            repo = Repo(private=payload.get("visibility") == "private" or bool(payload.get("private")))
            self.state.repos[repo_id] = repo
            gitattributes = b"*.parquet filter=lfs -text\n*.mp4 filter=lfs -text\n"
            self.state.commit(repo, "main", {".gitattributes": Entry(gitattributes, False)}, "initial commit")
        self.send(200, {"url": f"{self.base}/datasets/{repo_id}", "name": repo_id})

    def repo_info(self, repo_id: str, rev: str | None, query: dict) -> None:
        repo = self.repo_or_error(repo_id)
        if repo is None:
            return
        sha = repo.resolve(rev or "main")
        if sha is None:
            self.error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            return
        files = repo.commits[sha]
        self.send(200, {
            "id": repo_id, "sha": sha, "private": repo.private, "tags": [],
            "siblings": [{"rfilename": p, "size": len(e.content)} for p, e in sorted(files.items())],
        })

    def tree(self, repo_id: str, rev: str, sub: str | None, query: dict) -> None:
        repo = self.repo_or_error(repo_id)
        if repo is None:
            return
        sha = repo.resolve(rev)
        if sha is None:
            self.error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            return
        prefix = (sub.strip("/") + "/") if sub else ""
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        out: list[dict[str, Any]] = []
        folders: set[str] = set()
        for path, e in sorted(repo.commits[sha].items()):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix):]
            parts = rest.split("/")
            for i in range(1, len(parts)):
                folder = prefix + "/".join(parts[:i])
                if (recursive or i == 1) and folder not in folders:
                    folders.add(folder)
                    out.append({"type": "directory", "oid": hashlib.sha1(folder.encode()).hexdigest(), "path": folder})
            if len(parts) > 1 and not recursive:
                continue
            item: dict[str, Any] = {"type": "file", "oid": e.blob_id, "size": len(e.content), "path": path}
            if e.lfs:
                item["lfs"] = {"oid": e.sha256, "size": len(e.content),
                               "pointerSize": len(lfs_pointer(e.sha256, len(e.content)))}
            out.append(item)
        self.send(200, out)

    def branch(self, repo_id: str, name: str, query: dict) -> None:
        payload = json.loads(self.body() or b"{}")
        repo = self.repo_or_error(repo_id, write=True)
        if repo is None:
            return
        with self.state.lock:
            if name in repo.branches:
                self.error(409, "Reference already exists")
                return
            start = repo.resolve(payload.get("startingPoint") or "main")
            if start is None:
                self.error(404, "Invalid starting point", "RevisionNotFound")
                return
            repo.branches[name] = start
        self.send(200, {})

    def preupload(self, repo_id: str, rev: str, query: dict) -> None:
        payload = json.loads(self.body())
        repo = self.repo_or_error(repo_id, write=True)
        if repo is None:
            return
        sha = repo.resolve(rev)
        current = repo.commits[sha] if sha else {}
        files = []
        for f in payload["files"]:
            sample = base64.b64decode(f["sample"])
            try:
                sample.decode("utf-8")
                text = True
            except UnicodeDecodeError:
                text = False
            lfs = f["path"].endswith(LFS_SUFFIXES) or not text or f["size"] > 10 * 1024 * 1024
            have = current.get(f["path"])
            files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                          "oid": have.oid if have is not None and have.lfs == lfs else None})
        self.send(200, {"files": files, "commitOid": sha})

    def lfs_batch(self, repo_id: str, query: dict) -> None:
        payload = json.loads(self.body())
        repo = self.repo_or_error(repo_id, write=True)
        if repo is None:
            return
        objects = []
        for obj in payload["objects"]:
            item: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self.state.lfs:
                item["actions"] = {
                    "upload": {"href": f"{self.base}/lfs-storage/{obj['oid']}"},
                    "verify": {"href": f"{self.base}/lfs-verify"},
                }
            objects.append(item)
        self.send(200, {"transfer": "basic", "objects": objects})

    def lfs_put(self, oid: str, query: dict) -> None:
        data = self.body()
        if hashlib.sha256(data).hexdigest() != oid:
            self.error(400, "content does not match its oid")
            return
        with self.state.lock:
            self.state.lfs[oid] = data
            self.state.lfs_uploaded.append(oid)
        self.send(200, {})

    def lfs_verify(self, query: dict) -> None:
        payload = json.loads(self.body())
        if payload["oid"] in self.state.lfs and len(self.state.lfs[payload["oid"]]) == payload["size"]:
            self.send(200, {})
        else:
            self.error(404, "object not found")

    def commit(self, repo_id: str, rev: str, query: dict) -> None:
        lines = [json.loads(line) for line in self.body().splitlines() if line.strip()]
        repo = self.repo_or_error(repo_id, write=True)
        if repo is None:
            return
        with self.state.lock:
            if rev not in repo.branches:
                self.error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
                return
            files = dict(repo.commits[repo.branches[rev]])
            summary = ""
            for line in lines:
                key, value = line["key"], line["value"]
                if key == "header":
                    summary = value.get("summary", "")
                elif key == "file":
                    files[value["path"]] = Entry(base64.b64decode(value["content"]), False)
                elif key == "lfsFile":
                    if value["oid"] not in self.state.lfs:
                        self.error(422, f"LFS object {value['oid']} was never uploaded")
                        return
                    files[value["path"]] = Entry(self.state.lfs[value["oid"]], True)
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    folder = value["path"].rstrip("/") + "/"
                    files = {p: e for p, e in files.items() if not p.startswith(folder)}
            sha = self.state.commit(repo, rev, files, summary)
        self.send(200, {"commitUrl": f"{self.base}/datasets/{repo_id}/commit/{sha}", "commitOid": sha,
                        "pullRequestUrl": None})

    def create_tag(self, repo_id: str, rev: str, query: dict) -> None:
        payload = json.loads(self.body())
        repo = self.repo_or_error(repo_id, write=True)
        if repo is None:
            return
        with self.state.lock:
            if payload["tag"] in repo.tags:
                self.error(409, "Tag already exists")
                return
            sha = repo.resolve(rev)
            if sha is None:
                self.error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
                return
            repo.tags[payload["tag"]] = sha
        self.send(200, {})

    def delete_tag(self, repo_id: str, tag: str, query: dict) -> None:
        repo = self.repo_or_error(repo_id, write=True)
        if repo is None:
            return
        with self.state.lock:
            if repo.tags.pop(tag, None) is None:
                self.error(404, "Tag not found", "RevisionNotFound")
                return
        self.send(200, {})

    def resolve(self, repo_id: str, rev: str, path: str, query: dict) -> None:
        repo = self.repo_or_error(repo_id)
        if repo is None:
            return
        sha = repo.resolve(rev)
        if sha is None:
            self.error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            return
        entry = repo.commits[sha].get(path)
        if entry is None:
            self.error(404, "Entry not found", "EntryNotFound")
            return
        etag = entry.sha256 if entry.lfs else entry.blob_id
        headers = {"X-Repo-Commit": sha, "ETag": f'"{etag}"'}
        if entry.lfs:
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(entry.content))})
        self.send(200, headers=headers, raw=entry.content)


_REPO = r"([^/]+/[^/]+)"
ROUTES = [
    ("GET", r"/api/whoami-v2", Handler.whoami),
    ("POST", r"/api/validate-yaml", Handler.validate_yaml),
    ("POST", r"/api/repos/create", Handler.create_repo),
    ("GET", rf"/api/datasets/{_REPO}(?:/revision/([^/]+))?", Handler.repo_info),
    ("GET", rf"/api/datasets/{_REPO}/tree/([^/]+)(/.*)?", Handler.tree),
    ("POST", rf"/api/datasets/{_REPO}/branch/([^/]+)", Handler.branch),
    ("POST", rf"/api/datasets/{_REPO}/preupload/([^/]+)", Handler.preupload),
    ("POST", rf"/api/datasets/{_REPO}/commit/([^/]+)", Handler.commit),
    ("POST", rf"/api/datasets/{_REPO}/tag/([^/]+)", Handler.create_tag),
    ("DELETE", rf"/api/datasets/{_REPO}/tag/([^/]+)", Handler.delete_tag),
    ("POST", rf"/datasets/{_REPO}\.git/info/lfs/objects/batch", Handler.lfs_batch),
    ("PUT", r"/lfs-storage/([0-9a-f]{64})", Handler.lfs_put),
    ("POST", r"/lfs-verify", Handler.lfs_verify),
    ("GET", rf"/datasets/{_REPO}/resolve/([^/]+)/(.+)", Handler.resolve),
]


class HubServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads: a test ends with none left running

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = HubState()
        self._thread = threading.Thread(target=self.serve_forever, name="test-hub", daemon=True)
        self._connections: list[socket.socket] = []

    def process_request(self, request: Any, client_address: Any) -> None:
        self._connections.append(request)
        super().process_request(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> HubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        for conn in self._connections:  # keep-alive connections hold a handler thread each: end them
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.server_close()
        self._thread.join(timeout=5)

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        repo = self.state.repos[repo_id]
        sha = repo.resolve(rev)
        assert sha is not None, rev
        return {p: e.content for p, e in repo.commits[sha].items()}
