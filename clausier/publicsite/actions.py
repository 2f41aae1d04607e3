"""Writing the public site: texts, documents, partners. Facilitator administrators only; each write is atomic
and leaves an audit entry. Files arrive already checked (`clausier.publicsite.uploads`)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.fields.files import FieldFile

from clausier.audit.log import diff, record
from clausier.audit.log import snapshot as row_snapshot
from clausier.audit.models import Action
from clausier.organizations.access import current_organization, is_facilitator_admin
from clausier.publicsite.models import Partner, PublicDocument, PublicProfile
from clausier.publicsite.uploads import CheckedFile
from clausier.utils.locking import check_version

ADMIN_ONLY = "Seuls les administrateurs du facilitateur peuvent modifier le site public."
DOCUMENT_FIELDS = {"title", "audience", "description", "is_model_clause"}
PARTNER_FIELDS = {"name", "url", "order"}


def _check_admin(facilitator, by) -> None:
    org = current_organization(by)
    if org is None or org.pk != facilitator.pk or not is_facilitator_admin(by):
        raise PermissionDenied(ADMIN_ONLY)


def snapshot(obj) -> dict:
    """The row's values for the audit log, files as their stored names."""
    return {
        key: value.name if isinstance(value, FieldFile) else value for key, value in row_snapshot(obj).items()
    }


def _created(obj) -> dict:
    return {key: [None, value] for key, value in snapshot(obj).items()}


def _stored(field_file) -> tuple | None:
    """(storage, name) of a stored file, taken before the field is given another file."""
    return (field_file.storage, field_file.name) if field_file else None


def _remove_on_commit(stored: tuple | None) -> None:
    if stored:
        storage, name = stored
        transaction.on_commit(lambda: storage.delete(name))


def profile_of(facilitator) -> PublicProfile:
    """The texts of the public page (unsaved and empty when never written: reading never writes)."""
    return PublicProfile.objects.filter(facilitator=facilitator).first() or PublicProfile(
        facilitator=facilitator
    )


def set_public_texts(
    *, facilitator, by, role_text: str, history_text: str, expected_version=None
) -> PublicProfile:
    """`expected_version`: `version_of` the texts when the form was read (`ABSENT` if never written)."""
    _check_admin(facilitator, by)
    with transaction.atomic():
        profile, created = PublicProfile.objects.select_for_update().get_or_create(facilitator=facilitator)
        check_version(None if created else profile, expected_version)
        before = {"role_text": "" if created else profile.role_text, "history_text": profile.history_text}
        profile.role_text, profile.history_text = role_text.strip(), history_text.strip()
        profile.save()
        changes = diff(before, {"role_text": profile.role_text, "history_text": profile.history_text})
        if changes:
            record(action=Action.UPDATE, obj=profile, by=by, changes=changes, detail="textes du site public")
    return profile


# Documents -------------------------------------------------------------------------------------


def _set_file(document: PublicDocument, file: CheckedFile) -> None:
    document.original_name, document.content_type, document.size = (
        file.original_name,
        file.content_type,
        file.size,
    )
    document.file.save(file.original_name, file.content, save=False)


def add_document(*, facilitator, by, file: CheckedFile, **fields) -> PublicDocument:
    _check_admin(facilitator, by)
    document = PublicDocument(
        facilitator=facilitator, **{k: fields[k] for k in DOCUMENT_FIELDS & set(fields)}
    )
    with transaction.atomic():
        _set_file(document, file)
        try:
            document.full_clean(exclude=["file"])
            document.save()
            record(action=Action.CREATE, obj=document, by=by, changes=_created(document))
        except Exception:
            document.file.storage.delete(document.file.name)
            raise
    return document


def update_document(
    *, document: PublicDocument, by, file: CheckedFile | None = None, expected_version=None, **fields
) -> PublicDocument:
    _check_admin(document.facilitator, by)
    with transaction.atomic():
        locked = PublicDocument.objects.select_for_update().get(pk=document.pk)
        check_version(locked, expected_version)
        before = snapshot(locked)
        old_file = _stored(locked.file) if file is not None else None
        for name in DOCUMENT_FIELDS & set(fields):
            setattr(locked, name, fields[name])
        if file is not None:
            _set_file(locked, file)
        locked.full_clean(exclude=["file"])
        locked.save()
        _remove_on_commit(old_file)
        changes = diff(before, snapshot(locked))
        if changes:
            record(action=Action.UPDATE, obj=locked, by=by, changes=changes)
    return locked


def delete_document(*, document: PublicDocument, by) -> None:
    _check_admin(document.facilitator, by)
    with transaction.atomic():
        locked = PublicDocument.objects.select_for_update().get(pk=document.pk)
        record(
            action=Action.DELETE,
            obj=locked,
            by=by,
            changes={key: [value, None] for key, value in snapshot(locked).items()},
        )
        _remove_on_commit(_stored(locked.file))
        locked.delete()


# Partners --------------------------------------------------------------------------------------


def _set_logo(partner: Partner, logo: CheckedFile) -> None:
    partner.logo_content_type = logo.content_type
    partner.logo.save(logo.content.name, logo.content, save=False)


def add_partner(*, facilitator, by, logo: CheckedFile | None = None, **fields) -> Partner:
    _check_admin(facilitator, by)
    partner = Partner(facilitator=facilitator, **{k: fields[k] for k in PARTNER_FIELDS & set(fields)})
    with transaction.atomic():
        if logo is not None:
            _set_logo(partner, logo)
        try:
            partner.full_clean(exclude=["logo"])
            partner.save()
            record(action=Action.CREATE, obj=partner, by=by, changes=_created(partner))
        except Exception:
            if partner.logo:
                partner.logo.storage.delete(partner.logo.name)
            raise
    return partner


def update_partner(
    *,
    partner: Partner,
    by,
    logo: CheckedFile | None = None,
    remove_logo: bool = False,
    expected_version=None,
    **fields,
) -> Partner:
    _check_admin(partner.facilitator, by)
    with transaction.atomic():
        locked = Partner.objects.select_for_update().get(pk=partner.pk)
        check_version(locked, expected_version)
        before = snapshot(locked)
        old_logo = _stored(locked.logo) if (logo is not None or remove_logo) else None
        for name in PARTNER_FIELDS & set(fields):
            setattr(locked, name, fields[name])
        if logo is not None:
            _set_logo(locked, logo)
        elif remove_logo:
            locked.logo, locked.logo_content_type = "", ""
        locked.full_clean(exclude=["logo"])
        locked.save()
        _remove_on_commit(old_logo)
        changes = diff(before, snapshot(locked))
        if changes:
            record(action=Action.UPDATE, obj=locked, by=by, changes=changes)
    return locked


def delete_partner(*, partner: Partner, by) -> None:
    _check_admin(partner.facilitator, by)
    with transaction.atomic():
        locked = Partner.objects.select_for_update().get(pk=partner.pk)
        record(
            action=Action.DELETE,
            obj=locked,
            by=by,
            changes={key: [value, None] for key, value in snapshot(locked).items()},
        )
        _remove_on_commit(_stored(locked.logo))
        locked.delete()
