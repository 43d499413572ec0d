"""The office edits the shop's own pages (about, how to buy, privacy, ...): their titles and
Markdown texts in both languages, with a preview and the history of edits (who, when)."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ..access import office_required
from ..numbers import whole_number
from ..pages.forms import PageForm
from ..pages.markup import render_markdown
from ..pages.services import (LANGUAGES, PAGES, PageConflict, PageError, default_text, latest_revisions,
                              page_history, page_text, save_page)
from ..unit_of_work import unit_of_work
from .blueprint import bp

_SLUGS = ", ".join(f'"{slug}"' for slug in PAGES)


@bp.get("/halaman")
@office_required
def shop_pages():
    """The shop's pages, each with its last edit (or its default text)."""
    latest = latest_revisions()
    rows = [{"slug": slug, "label": label, "revision": latest.get(slug)} for slug, label in PAGES.items()]
    return render_template("office/shop_pages.html", rows=rows)


def _part_labels():
    """The parts of a page's text, as the history names what an edit changed."""
    return {"title_id": _("Indonesian title"), "body_id": _("Indonesian text"),
            "title_en": _("English title"), "body_en": _("English text")}


def _history(slug):
    """The page's revisions, newest first, each with what it changed from the one before."""
    revisions = page_history(slug)
    labels = _part_labels()
    rows = []
    for index, revision in enumerate(revisions):
        before = revisions[index + 1] if index + 1 < len(revisions) else None
        if before is None and revision.replaces_id == 0:
            before = default_text(slug)
        changed = None if before is None else \
            [label for part, label in labels.items() if getattr(revision, part) != getattr(before, part)]
        rows.append({"revision": revision, "changed": changed})
    return rows


def _fill(form, text):
    form.title_id.data, form.body_id.data = text.title_id, text.body_id
    form.title_en.data, form.body_en.data = text.title_en, text.body_en
    form.replaces.data = str(text.revision_id)


@bp.route(f"/halaman/<any({_SLUGS}):slug>", methods=["GET", "POST"])
@office_required
def edit_shop_page(slug):
    """A page's title and text in both languages: preview, or save as a new revision."""
    form = PageForm()
    preview = conflict = None
    status = 200
    if not form.is_submitted():
        _fill(form, page_text(slug))
    elif not form.validate():
        status = 422
    elif request.form.get("action") == "preview":
        preview = [{"lang": lang, "title": getattr(form, f"title_{lang}").data,
                    "body": render_markdown(getattr(form, f"body_{lang}").data)} for lang in LANGUAGES]
    else:
        try:
            with unit_of_work():
                saved = save_page(slug, title_id=form.title_id.data, body_id=form.body_id.data,
                                  title_en=form.title_en.data, body_en=form.body_en.data,
                                  editor_id=current_user.id, editor_name=current_user.audit_name,
                                  replaces=whole_number(form.replaces.data, minimum=0))
        except (PageConflict, IntegrityError):
            # Another edit landed first: keep what this editor typed, show what was saved, and
            # let the next save replace that one.
            conflict = page_text(slug)
            form.replaces.data = str(conflict.revision_id)
            form.form_errors.append(_("Someone else saved this page while you were editing it. Your text "
                                      "is still in the form: compare it with theirs above, then save again."))
            status = 409
        except PageError as exc:
            form.form_errors.append(str(exc))
            status = 422
        else:
            if saved is None:
                flash(_("Nothing was changed, so nothing was saved."), "warning")
            else:
                flash(_("The page is saved. The shop shows the new text now."), "success")
            return redirect(url_for("office.edit_shop_page", slug=slug), code=303)
    current = page_text(slug) if conflict is None else conflict
    return render_template("office/shop_page_form.html", slug=slug, label=PAGES[slug], form=form,
                           preview=preview, conflict=conflict, current=current, history=_history(slug)), status
