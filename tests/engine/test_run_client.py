"""The run's httpx client (``snapconform.engine.http11.RunClient``): httpx's requests and responses.

``RunClient`` builds and sends a Target's requests without parts of httpx's ceremony. Each test
holds its short path to what ``httpx.Client`` itself makes of the same call: the same request on
the wire (URL, headers, timeouts), the same response (its request, history, the redirect it
names, cookies kept), the same errors. A difference in any of them fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings, strategies as st

from snapconform.engine.http11 import RunClient

BASES = (
    "http://127.0.0.1:8443",
    "https://vcenter.example:443",
    "http://[::1]:9000",
    "https://vcenter.example/prefix",
    "http://127.0.0.1:8443/deep/prefix/",
)

#: Queries as a Target writes them, and worse: spaces, non-ASCII, percent signs, reserved
#: characters, characters httpx refuses.
QUERY_TEXT = st.text(
    st.one_of(
        st.sampled_from("=&%+ ?/:@!$'()*,;[]{}|\\^`\"<>~.-_"),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=40,
)


def _pair(
    base: str, handler: Callable[[httpx.Request], httpx.Response], **options: Any
) -> tuple[httpx.Client, RunClient]:
    plain = httpx.Client(base_url=base, transport=httpx.MockTransport(handler), **options)
    run = RunClient(base_url=base, transport=httpx.MockTransport(handler), **options)
    return plain, run


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"items": []})


def _built(client: httpx.Client, method: str, url: str, headers: dict[str, str]) -> Any:
    try:
        request = client.build_request(method, url, headers=headers)
    except Exception as error:  # the same refusal is part of the contract
        return (type(error), str(error))
    return (
        request.method,
        str(request.url),
        request.url.raw_path,
        request.headers.raw,
        request.extensions,
        request.read(),
    )


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(BASES),
    path=st.sampled_from(("/api/snapservice/tasks", "/api/snapservice/sessions", "/a b/ü", "/")),
    query=QUERY_TEXT,
    method=st.sampled_from(("GET", "POST", "DELETE")),
    session=st.one_of(
        st.none(),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20),
    ),
)
def test_a_request_is_built_as_httpx_builds_it(
    base: str, path: str, query: str, method: str, session: str | None
) -> None:
    plain, run = _pair(base, _ok, timeout=7.5, headers={"User-Agent": "snapconform-test"})
    headers = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate"}
    if session is not None:
        headers["vmware-api-session-id"] = session
    url = path + (f"?{query}" if query else "")
    assert _built(run, method, url, headers) == _built(plain, method, url, headers)


@pytest.mark.parametrize(
    "url", ["//elsewhere.example/api", "/api#fragment", "http://other.example/api", "api/relative"]
)
def test_urls_outside_the_short_path_are_built_by_httpx(url: str) -> None:
    plain, run = _pair("http://127.0.0.1:8443", _ok)
    assert _built(run, "GET", url, {}) == _built(plain, "GET", url, {})


def test_a_base_url_with_credentials_keeps_httpx_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    _, run = _pair("http://user:secret@127.0.0.1:8443", handler)
    run.send(run.build_request("GET", "/api/snapservice/tasks"), stream=True).close()
    assert seen[0].headers["authorization"].startswith("Basic ")


def _sent(client: httpx.Client, url: str = "/api/snapservice/tasks?status=RUNNING") -> Any:
    try:
        response = client.send(client.build_request("GET", url, headers={"X-A": "1"}), stream=True)
    except Exception as error:
        request = getattr(error, "_request", None)
        return (type(error), str(error), None if request is None else str(request.url))
    response.read()
    response.close()
    following = response.next_request
    return (
        response.status_code,
        response.headers.raw,
        response.content,
        str(response.request.url),
        response.request.headers.raw,
        response.history,
        None
        if following is None
        else (following.method, str(following.url), following.headers.raw),
        sorted((cookie.name, cookie.value) for cookie in client.cookies.jar),
        response.http_version,
        response.reason_phrase,
    )


ANSWERS: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "a list": _ok,
    "an error body": lambda request: httpx.Response(400, json={"error_type": "INVALID_ARGUMENT"}),
    "a same-origin redirect": lambda request: httpx.Response(
        302, headers={"Location": "/api/snapservice/tasks?page=2"}
    ),
    "a redirect elsewhere": lambda request: httpx.Response(
        307, headers={"Location": "https://elsewhere.example/steal"}
    ),
    "an unparsable redirect": lambda request: httpx.Response(
        301, headers={"Location": "http://[bad"}
    ),
    "a cookie": lambda request: httpx.Response(
        200, headers={"Set-Cookie": "vmware-api-session-id=abc; Path=/"}, json={}
    ),
}


@pytest.mark.parametrize("answer", sorted(ANSWERS))
def test_a_response_is_what_httpx_makes_of_it(answer: str) -> None:
    plain, run = _pair("http://127.0.0.1:8443", ANSWERS[answer])
    assert _sent(run) == _sent(plain)


def test_a_cookie_the_server_set_goes_back_as_httpx_sends_it() -> None:
    seen: dict[str, list[str | None]] = {"plain": [], "run": []}

    def recording(name: str) -> Callable[[httpx.Request], httpx.Response]:
        def handler(request: httpx.Request) -> httpx.Response:
            seen[name].append(request.headers.get("cookie"))
            return httpx.Response(200, headers={"Set-Cookie": "token=t1; Path=/"})

        return handler

    plain = httpx.Client(
        base_url="http://127.0.0.1:8443", transport=httpx.MockTransport(recording("plain"))
    )
    run = RunClient(
        base_url="http://127.0.0.1:8443", transport=httpx.MockTransport(recording("run"))
    )
    for client in (plain, run):
        for _ in range(2):
            client.send(client.build_request("GET", "/api/snapservice/tasks"), stream=True).close()
    assert seen["run"] == seen["plain"] == [None, "token=t1"]


def test_a_transport_error_carries_its_request() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    plain, run = _pair("http://127.0.0.1:8443", refused)
    assert _sent(run) == _sent(plain)
    assert _sent(run)[0] is httpx.ConnectError
    assert _sent(run)[2] == "http://127.0.0.1:8443/api/snapservice/tasks?status=RUNNING"


def test_a_closed_client_refuses_to_send() -> None:
    plain, run = _pair("http://127.0.0.1:8443", _ok)
    for client in (plain, run):
        client.close()
    assert _sent(run) == _sent(plain)
    assert _sent(run)[0] is RuntimeError


def test_event_hooks_and_redirects_followed_take_httpx_path() -> None:
    calls: list[str] = []
    hooks = {"request": [lambda request: calls.append("request")], "response": []}

    def redirecting(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return httpx.Response(200, json={})
        return httpx.Response(302, headers={"Location": "/api/snapservice/tasks?page=2"})

    run = RunClient(
        base_url="http://127.0.0.1:8443",
        transport=httpx.MockTransport(redirecting),
        event_hooks=hooks,
        follow_redirects=True,
    )
    response = run.send(run.build_request("GET", "/api/snapservice/tasks"), stream=True)
    response.close()
    assert response.status_code == 200
    assert len(response.history) == 1
    assert calls == ["request", "request"]
