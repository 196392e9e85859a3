"""Headers by meaning: the thing counted and its qualifier, from the header's words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi.importing.columns import Role, classify_column
from kpi.importing.meaning import read_header, split_words


@pytest.mark.parametrize(
    ("header", "metric"),
    [
        ("followers_gained", "new_followers"),
        ("followersLost", "unfollows"),
        ("Followers (net)", "net_followers"),
        ("followers_total", "followers"),
        ("Subscribers gained", "new_followers"),
        ("Subscribers lost", "unfollows"),
        ("New follows", "new_followers"),
        ("Подписчики (всего)", "followers"),
        ("Подписались", "new_followers"),
        ("Отписались", "unfollows"),
        ("Чистый прирост подписчиков", "net_followers"),
        ("Difference in followers from previous day", "net_followers"),
        ("Total views", "views"),
        ("Video views", "views"),
        ("Просмотры", "views"),
        ("Посетители", "visitors"),
        ("Total users", "visitors"),
        ("Active users", "visitors"),
        ("No. of sessions", "sessions"),
        ("Average views per post", "avg_post_views"),
        ("Средний охват поста", "avg_post_reach"),
        ("retweet_count", "shares"),
        ("Total reactions", "reactions"),
    ],
)
def test_header_meanings(header: str, metric: str) -> None:
    meaning = read_header(header, web=False)
    assert meaning is not None, header
    assert (meaning.metric, meaning.sure) == (metric, True)


@pytest.mark.parametrize(
    "header",
    [
        "Average view duration",  # a duration, not a count of views
        "Views per active user",  # a ratio the bot computes
        "Cost / conv.",  # a cost per result
        "Engaged sessions",  # a subset of the sessions
        "Profile visits",  # not site sessions
        "Impressions click-through rate (%)",
        "Охват подписчиков",  # a part of the reach: two things counted
        "Lifetime Post reach by people who like your Page",
        "Returning viewers",
        "airline_sentiment",
    ],
)
def test_headers_that_are_not_a_metric(header: str) -> None:
    assert read_header(header, web=False) is None


def test_unknown_words_make_the_reading_unsure() -> None:
    meaning = read_header("Engaged views", web=False)
    assert meaning is not None and (meaning.metric, meaning.sure) == ("views", False)
    assert meaning.why == "views"


def test_views_on_a_website_are_page_views() -> None:
    meaning = read_header("Views", web=True)
    assert meaning is not None and meaning.metric == "pageviews"
    assert classify_column(0, "Views", web=False).metric == "views"
    assert classify_column(0, "Views", web=True).metric == "pageviews"


def test_roles_read_from_words() -> None:
    assert classify_column(0, "airline_sentiment", web=False).role is Role.SENTIMENT
    assert classify_column(0, "airline_sentiment_confidence", web=False).role is Role.IGNORED
    assert classify_column(0, "tweet_text", web=False).role is Role.TEXT


_WORDS = st.lists(
    st.sampled_from(["followers", "gained", "lost", "total", "net", "views", "reach", "new"]),
    min_size=1,
    max_size=3,
)


@given(_WORDS)
def test_snake_camel_and_spaces_read_the_same(words: list[str]) -> None:
    snake = "_".join(words)
    camel = words[0] + "".join(w.capitalize() for w in words[1:])
    spaced = " ".join(w.upper() for w in words)
    assert split_words(snake) == split_words(camel) == split_words(spaced) == words
    assert read_header(snake, web=False) == read_header(camel, web=False)
    assert read_header(snake, web=False) == read_header(spaced, web=False)
