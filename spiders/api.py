"""The base of the kinds read from a service's JSON API (Reddit, Bluesky, Mastodon).

A concrete spider says three things: where the posts are in an answer (:meth:`ApiSpider.posts_of`),
how one post becomes a :class:`Post` (:meth:`ApiSpider.read_post`), and where the next, older
page is (:meth:`ApiSpider.next_page`). The base does the rest, the same way for every service:

- **Paging, newest first.** Pages are read until a page holds only posts seen by earlier
  scans (the scan hands the spider ``known``), the service has no more, or the source's
  ``pages:`` limit is reached. A first scan reads back ``pages`` pages; later scans read one
  or two.
- **Rate limits.** A ``429`` is waited out when ``Retry-After`` asks for a short wait, else
  reported as "rate limited by HOST; will try again next scan". A page saying the quota is
  spent (``X-RateLimit-Remaining: 0``) is honoured before the next page is asked for.
- **API changes.** An answer that is not JSON, or JSON without a field we need, is a
  :class:`SourceProblem` naming the field ("posts[3].author.handle is missing"), never a
  traceback. A post we cannot read is skipped and counted; the others are kept.
- **Documents.** Every post becomes the same :class:`Document` a feed entry does: its public
  address, a title, the post's text as markup (the pipeline strips it), the author, the time
  it was posted, and the API page it came in as the raw evidence.
"""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from spiders.base import SourceSpider
from spiders.items import Document, SourceProblem
from spiders.ratelimit import RATE_LIMITED, RespectsRateLimits, describe_wait, exhausted_for, host_of, sleep


@dataclass
class Post:
    """One post as every API kind hands it on."""

    url: str  # its public address: the mention's identity
    title: str
    markup: str  # HTML; the pipeline turns it into the text that is judged
    author: str = ""
    published: datetime | None = None


class ApiChanged(ValueError):
    """The service answered JSON of a shape we do not know: its API has probably changed."""


_MISSING = object()


def field(data: Any, path: str, kind: type | tuple[type, ...] = str, default: Any = _MISSING) -> Any:
    """``data["a"]["b"][0]`` for the path ``"a.b.0"``, checked to be of ``kind``.

    Without ``default`` a missing (or null) value raises :class:`ApiChanged` saying which
    field; with one, a missing or null value gives the default. A value of the wrong type
    always raises: that is an API change, not an optional field.
    """
    value = data
    walked: list[str] = []
    for step in path.split("."):
        walked.append(step)
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit():
            value = value[int(step)] if int(step) < len(value) else None
        else:
            raise ApiChanged(f"{'.'.join(walked[:-1]) or 'the answer'} is {_kind_name(value)}, not an object")
        if value is None:
            if default is not _MISSING:
                return default
            raise ApiChanged(f"{'.'.join(walked)} is missing")
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise ApiChanged(f"{path} is {_kind_name(value)} where {_kind_names(kind)} was expected")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", int: "a number", float: "a number",
             bool: "true/false", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _kind_names(kind: type | tuple[type, ...]) -> str:
    names = {dict: "an object", list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in _kinds(kind)))


def iso_time(value: Any) -> datetime | None:
    """An ISO 8601 time as services write it (``2026-11-24T09:15:00.123Z``); None if it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def epoch_time(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def replace_params(url: str, **params: str) -> str:
    """``url`` with these query parameters set (replacing any of the same name)."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*kept, *params.items()])))


def text_markup(text: str) -> str:
    """Plain post text as markup the pipeline can read back exactly (``<`` stays ``<``)."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


class ApiSpider(RespectsRateLimits, SourceSpider):
    """One source read from a JSON API, page by page, newest first."""

    service: ClassVar[str] = ""  # the service's name in messages ("Reddit")

    def __init__(self, *args: Any, max_pages: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # max_pages (crawl.max_pages) is for site crawls, not APIs
        self.yielded: set[str] = set()  # posts passed on this scan: results shift while we page

    # --- what a concrete spider says ----------------------------------------------------------

    def posts_of(self, data: Any) -> list[Any]:
        """The raw posts in one answer (raise :class:`ApiChanged` when they are not where expected)."""
        raise NotImplementedError

    def read_post(self, raw: Any) -> Post | None:
        """One raw post as a :class:`Post`; None to pass it over (a deleted post, a comment)."""
        raise NotImplementedError

    def next_page(self, data: Any, response: Response) -> str | None:
        """The address of the next, older page, or None when this was the last."""
        raise NotImplementedError

    def explain_refusal(self, status: int, first_page: bool) -> str | None:
        """A service-specific explanation of a 4xx answer, or None for the usual words."""
        return None

    # --- the rest is the same for every service -------------------------------------------------

    async def parse_start(self, response: Response) -> AsyncIterator[Any]:
        async for item in self.parse_page(response, number=1):
            yield item

    async def decode(self, response: Response) -> tuple[Any, Request | SourceProblem | None]:
        """The answer's JSON, or what to yield instead (a retry after a wait, or a problem)."""
        if response.status == RATE_LIMITED:
            return None, await self.after_rate_limit(response)
        try:
            return json.loads(response.body), None
        except (ValueError, UnicodeDecodeError):
            kind = response.headers.get(b"Content-Type", b"no Content-Type").decode("latin-1")[:80]
            return None, self.problem(response, f"{self.name_of(response)} did not answer with JSON "
                                                f"(it sent {kind}); the service may be down or have moved its API")

    async def parse_page(self, response: Response, number: int = 1) -> AsyncIterator[Any]:
        data, instead = await self.decode(response)
        if instead is not None:
            yield instead
            return
        try:
            raws = self.posts_of(data)
            if not isinstance(raws, list):
                raise ApiChanged(f"the list of posts is {_kind_name(raws)}")
        except ApiChanged as exc:
            yield self.api_changed(response, exc)
            return
        # The page itself: bookkeeping only (it says the source answered, even with no posts).
        yield Document(source=self.options.name, url=response.url, status=response.status,
                       judge=False, track=False)
        posts, skipped = self.read_posts(raws)
        evidence = self.page_document(response)
        repeated = {post.url for post in posts if post.url in self.yielded}
        for post in posts:
            if post.url in self.yielded:  # a post that moved onto this page while we read the last one
                continue
            self.yielded.add(post.url)
            yield Document(source=self.options.name, url=post.url, title=post.title, content=post.markup,
                           author=post.author, published=post.published, body=evidence.body,
                           headers=evidence.headers, encoding="utf-8", status=response.status,
                           fetched_url=response.url, body_is_page=False, track=True)
        if skipped:
            yield self.problem(response, f"{len(skipped)} of {len(raws)} posts on this page could not be read "
                                         f"({skipped[0]}); {self.name_of(response)} may have changed its API",
                               fatal=not posts)
        async for item in self.follow(response, data, posts, number, seen=repeated):
            yield item

    def read_posts(self, raws: list[Any]) -> tuple[list[Post], list[str]]:
        posts: list[Post] = []
        skipped: list[str] = []
        for index, raw in enumerate(raws):
            try:
                post = self.read_post(raw)
            except ApiChanged as exc:
                skipped.append(f"post {index + 1}: {exc}")
                continue
            if post is not None:
                posts.append(post)
        return posts, skipped

    async def follow(self, response: Response, data: Any, posts: list[Post], number: int,
                     seen: Collection[str] = ()) -> AsyncIterator[Any]:
        """Ask for the next, older page, unless there is no reason to."""
        if not posts:
            return
        if all(post.url in self.known or post.url in seen for post in posts):
            self.logger.info("page %d holds only posts seen in earlier scans: stopping", number)
            return
        if number >= self.options.pages:
            self.logger.info("read %d pages, the most one scan reads (pages: %d)", number, self.options.pages)
            return
        try:
            next_url = self.next_page(data, response)
        except ApiChanged as exc:
            yield self.api_changed(response, exc, fatal=False)
            return
        if not next_url:
            return
        if urlsplit(next_url)[:2] != urlsplit(self.options.url)[:2]:
            yield self.problem(response, f"the next page is on another server ({host_of(next_url)}), "
                                         "so it was not fetched", fatal=False)
            return
        delay = exhausted_for(response.headers)
        if delay is not None:
            if delay > self.max_wait:
                yield self.rate_limit_problem(response, delay, fatal=False)
                return
            self.logger.info("%s quota spent; waiting %s before the next page", host_of(response.url),
                             describe_wait(delay))
            await sleep(delay)
        yield self.service_request(next_url, self.parse_page, number=number + 1)

    def failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        if isinstance(failure.value, HttpError):
            status = failure.value.response.status
            explained = self.explain_refusal(status, bool(request.meta.get("start")))
            if explained:
                yield SourceProblem(self.options.name, request.url, explained, fatal=bool(request.meta.get("start")))
                return
        yield from super().failed(failure)

    # --- messages -----------------------------------------------------------------------------------

    def name_of(self, response: Response) -> str:
        return self.service or host_of(response.url)

    def problem(self, response: Response, reason: str, fatal: bool | None = None) -> SourceProblem:
        """A problem with this page: fatal on the first page (nothing was read), else partial."""
        if fatal is None:
            fatal = bool(response.meta.get("start"))
        return SourceProblem(self.options.name, response.url, reason, fatal=fatal)

    def api_changed(self, response: Response, exc: ApiChanged, fatal: bool | None = None) -> SourceProblem:
        return self.problem(response, f"{self.name_of(response)} answered in a form schoolwatch does not "
                                      f"understand ({exc}): the service may have changed its API, so this "
                                      "kind of source needs an update", fatal)
