"""One plain line for each way talking to the Hub can fail, saying what to do. Never the token."""

from __future__ import annotations

from station.errors import StationError


class HubError(StationError):
    """The Hub could not be reached or refused a request; str() is the one line shown to the operator."""


def hub_problem(exc: BaseException, repo_id: str, endpoint: str) -> str | None:
    """The line for an exception raised by huggingface_hub, or None when it is not a Hub failure."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    # huggingface_hub wraps some failures (an LFS upload in a worker thread) in RuntimeError: look inside.
    seen: set[int] = set()
    while (
        not isinstance(exc, HfHubHTTPError | OfflineModeIsEnabled | httpx2.TransportError)
        and (exc.__cause__ or exc.__context__) is not None
        and id(exc) not in seen
    ):
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    again = "run the push again: it continues where it stopped"
    if isinstance(exc, OfflineModeIsEnabled):
        return f"HF_HUB_OFFLINE is set, so the Hub cannot be reached: unset it and {again}"
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status == 401:
            return ("the Hub did not accept the token (401): log in again with `hf auth login` "
                    "or set HF_TOKEN to a valid token")
        if status == 403:
            return (f"the token may not write to {repo_id} (403): use a token with write access "
                    "to that user or organisation")
        if status == 404:
            return f"{repo_id} or its branch was not found on the Hub (404): check --repo-id and --branch"
        if status == 409:
            return f"{repo_id} was changed by someone else meanwhile (409 conflict): {again}"
        if status == 429:
            return f"the Hub is limiting how fast this account may upload (429): wait a few minutes, then {again}"
        if status >= 500:
            return f"the Hub had a server error ({status}): wait a little, then {again}"
        return f"the Hub refused the upload ({status}): check --repo-id and the token, then {again}"
    if isinstance(exc, httpx2.TransportError | ConnectionError | TimeoutError):
        return f"cannot reach the Hub at {endpoint}: check the network (and HF_ENDPOINT), then {again}"
    return None
