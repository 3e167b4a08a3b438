"""Answers coordinators add (fees, dates, the address): list, add, edit, remove.

The same checks and storage as ``outreach answers`` (:mod:`bot.outreach.answers`, checked by
:func:`bot.content.added.problems`): every problem is shown beside the field it names and
nothing is stored until all are fixed; each change records the signed-in coordinator. The
form's fields are the CLI's options: keywords one per line; an optional text left empty is
not given (on an edit, it clears the old one, as ``--sms-roman ""`` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import notices
from bot.console.base import form_fields, me, page, render, runtime, utcnow
from bot.content.added import usable
from bot.core.added import AddedAnswer
from bot.core.segments import count_segments
from bot.outreach import answers
from bot.outreach.answers import AnswerExists, Invalid, NotFound

# The form's fields: (name, label, the CLI's name for it in a problem line).
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("key", "Id", "id"),
    ("keywords", "Keywords", "keywords"),
    ("sms_en", "SMS in English", "sms-en"),
    ("sms_ur", "SMS in Urdu", "sms-ur"),
    ("sms_roman", "SMS in Roman Urdu", "sms-roman"),
    ("telegram_en", "Telegram in English", "telegram-en"),
    ("telegram_ur", "Telegram in Urdu", "telegram-ur"),
)
_BY_PROBLEM = {problem: name for name, _, problem in FIELDS}
_LABELS = {name: label for name, label, _ in FIELDS}


@dataclass
class Form:
    """What the coordinator typed, and the problems found, per field."""

    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def problem_count(self) -> int:
        return sum(len(found) for found in self.errors.values())

    def fail(self, name: str, text: str) -> None:
        self.errors.setdefault(name, []).append(text)

    def keywords(self) -> tuple[str, ...]:
        lines = self.values.get("keywords", "").splitlines()
        return tuple(word.strip() for word in lines if word.strip())

    def text(self, name: str) -> str:
        return self.values.get(name, "")

    def optional(self, name: str) -> str | None:
        value = self.values.get(name, "")
        return value if value.strip() else None

    def answer(self, key: str) -> AddedAnswer:
        return AddedAnswer(
            key=key,
            keywords=self.keywords(),
            sms_en=self.text("sms_en"),
            sms_ur=self.text("sms_ur"),
            sms_ur_latn=self.optional("sms_roman"),
            telegram_en=self.optional("telegram_en"),
            telegram_ur=self.optional("telegram_ur"),
        )

    def invalid(self, exc: Invalid) -> None:
        """Each of the checks' problem lines ("sms-en: ...") beside the field it names."""
        for line in exc.problems:
            prefix, _, rest = line.partition(": ")
            name = _BY_PROBLEM.get(prefix)
            if name is None:
                self.fail("keywords", line)
            else:
                self.fail(name, rest)


def _values(a: AddedAnswer) -> dict[str, str]:
    return {
        "key": a.key,
        "keywords": "\n".join(a.keywords),
        "sms_en": a.sms_en,
        "sms_ur": a.sms_ur,
        "sms_roman": a.sms_ur_latn or "",
        "telegram_en": a.telegram_en or "",
        "telegram_ur": a.telegram_ur or "",
    }


async def _form(request: Request) -> Form:
    fields = await form_fields(request)
    return Form({name: fields.get(name, "").replace("\r\n", "\n") for name, _, _ in FIELDS})


def _form_page(
    request: Request, form: Form, *, editing: bool, status_code: int = 200, **context: object
) -> Response:
    return render(
        request,
        "answers_form.html",
        status_code,
        form=form,
        editing=editing,
        labels=_LABELS,
        segments=lambda text: count_segments(text) if text else None,
        **context,
    )


@page
async def answers_list(request: Request) -> Response:
    rt = runtime(request)
    found = await answers.list_all(rt.units)
    _, dropped = usable(rt.catalog, [s.answer for s in found])
    return render(
        request,
        "answers.html",
        found=found,
        dropped=dropped,
        when=lambda dt: answers.local_time(dt, rt.settings.timezone),
        notice=notices.take(request),
        refresh=int(answers.REFRESH_EVERY.total_seconds()),
    )


@page
async def new_form(request: Request) -> Response:
    return _form_page(request, Form({name: "" for name, _, _ in FIELDS}), editing=False)


@page
async def add(request: Request) -> Response:
    rt = runtime(request)
    form = await _form(request)
    key = form.text("key").strip()
    by = me(request).name
    try:
        await answers.add(
            rt.units,
            rt.catalog,
            form.answer(key),
            by,
            utcnow(),
            max_segments=rt.settings.sms_max_segments,
        )
    except Invalid as exc:
        form.invalid(exc)
    except AnswerExists:
        form.fail("key", f"there is already an answer '{key}'; edit it instead")
    if form.errors:
        return _form_page(request, form, editing=False, status_code=400)
    return notices.done(request, f"Answer '{key}' added by {by}.", "/console/answers")


def _key(request: Request) -> str:
    key: str = request.path_params["key"]
    return key


@page
async def edit_form(request: Request) -> Response:
    rt = runtime(request)
    key = _key(request)
    found, changes = await answers.show(rt.units, key)
    if found is None:
        raise HTTPException(404, f"There is no answer '{key}'.")
    return _form_page(
        request,
        Form(_values(found.answer)),
        editing=True,
        stored=found,
        changes=[answers.change_line(c, rt.settings.timezone) for c in changes],
        when=lambda dt: answers.local_time(dt, rt.settings.timezone),
    )


@page
async def edit(request: Request) -> Response:
    rt = runtime(request)
    key = _key(request)
    form = await _form(request)
    form.values["key"] = key
    by = me(request).name
    # As `outreach answers edit --keyword ...`: the keywords are replaced, repeats dropped.
    wanted = replace(form.answer(key), keywords=tuple(dict.fromkeys(form.keywords())))
    try:
        new = await answers.edit(
            rt.units,
            rt.catalog,
            key,
            lambda _old: wanted,
            by,
            utcnow(),
            max_segments=rt.settings.sms_max_segments,
        )
    except NotFound as exc:
        raise HTTPException(404, f"There is no answer '{key}'.") from exc
    except Invalid as exc:
        form.invalid(exc)
        return _form_page(request, form, editing=True, status_code=400)
    told = f"Answer '{key}' is unchanged." if new is None else f"Answer '{key}' changed by {by}."
    return notices.done(request, told, "/console/answers")


@page
async def remove(request: Request) -> Response:
    rt = runtime(request)
    key = _key(request)
    fields = await form_fields(request)
    if fields.get("confirm") != "yes":
        found, _ = await answers.show(rt.units, key, 0)
        if found is None:
            raise HTTPException(404, f"There is no answer '{key}'.")
        return render(request, "answers_remove.html", stored=found)
    try:
        await answers.remove(rt.units, key, me(request).name, utcnow())
    except NotFound as exc:
        raise HTTPException(404, f"There is no answer '{key}' (removed already?).") from exc
    return notices.done(
        request, f"Answer '{key}' removed by {me(request).name}.", "/console/answers"
    )


routes = [
    Route("/answers", answers_list, methods=["GET"]),
    Route("/answers/new", new_form, methods=["GET"]),
    Route("/answers/new", add, methods=["POST"]),
    Route("/answers/{key}/edit", edit_form, methods=["GET"]),
    Route("/answers/{key}/edit", edit, methods=["POST"]),
    Route("/answers/{key}/remove", remove, methods=["POST"]),
]
