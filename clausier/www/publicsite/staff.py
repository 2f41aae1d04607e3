"""The staff area of the public site (`/equipe/site-public/`): the facilitator's staff read it, its
administrators write (a member who reaches a form is sent back with a message, nothing is written).
Objects come through the access gate: another facilitator's document or partner is a 404. The edit forms
carry the version they were read at: a stale submit is refused (`clausier.utils.locking`)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from clausier.organizations.access import (
    get_object_for_user_or_404,
    is_facilitator_admin,
    is_facilitator_staff,
)
from clausier.publicsite import actions
from clausier.publicsite.models import Partner, PublicDocument
from clausier.utils.locking import OptimisticLockMixin
from clausier.www.kit.base import StaffFormView, add_errors
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin
from clausier.www.publicsite.forms_staff import ConfirmDeleteForm, DocumentForm, PartnerForm, PublicTextsForm

INDEX = "publicsite:index"


class StaffIndexView(FacilitatorStaffRequiredMixin, TemplateView):
    template_name = "publicsite/staff/index.html"
    http_method_names = ["get", "head"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        facilitator = self.request.organization
        context.update(
            title="Site public",
            is_admin=is_facilitator_admin(self.request.user),
            facilitator=facilitator,
            profile=actions.profile_of(facilitator),
            documents=PublicDocument.objects.visible_to(self.request.user),
            partners=Partner.objects.visible_to(self.request.user),
        )
        return context


class AdminFormView(StaffFormView):
    """A form of the staff area: staff only (404 otherwise), administrators only (members are sent back)."""

    template_name = "publicsite/staff/form.html"
    model = None  # for the views about one object (its `uuid` in the URL)

    def get_parent(self):
        if self.model is None:
            return None
        return get_object_for_user_or_404(self.model, self.request.user, uuid=self.kwargs["uuid"])

    def dispatch(self, request, *args, **kwargs):
        if is_facilitator_staff(request.user) and not is_facilitator_admin(request.user):
            self.request, self.kwargs = request, kwargs
            self.get_parent()  # another facilitator's object: 404 first
            messages.warning(request, actions.ADMIN_ONLY)
            return redirect(INDEX)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            self.save(form)
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        except PermissionDenied:
            messages.warning(self.request, actions.ADMIN_ONLY)
            return redirect(INDEX)
        messages.success(self.request, self.success_message)
        return redirect(INDEX)

    def get_cancel_url(self):
        return reverse(INDEX)


class TextsEditView(OptimisticLockMixin, AdminFormView):
    form_class = PublicTextsForm
    title = "Textes de la page publique"
    success_message = "Les textes de la page publique ont été enregistrés."
    lock_absent = True  # texts never written: a first writing meanwhile is not overwritten

    def get_locked_object(self):
        if not hasattr(self, "profile"):
            self.profile = actions.profile_of(self.request.organization)
        return self.profile

    def get_initial(self):
        profile = self.get_locked_object()
        return {"role_text": profile.role_text, "history_text": profile.history_text}

    def save(self, form):
        actions.set_public_texts(
            facilitator=self.request.organization,
            by=self.request.user,
            expected_version=self.expected_version,
            **form.cleaned_data,
        )


class DocumentCreateView(AdminFormView):
    form_class = DocumentForm
    title = "Nouveau document"
    submit_label = "Ajouter ce document"
    success_message = "Le document a été ajouté à l'espace documentation."

    def save(self, form):
        actions.add_document(facilitator=self.request.organization, by=self.request.user, **form.cleaned_data)


class DocumentEditView(OptimisticLockMixin, AdminFormView):
    model = PublicDocument
    form_class = DocumentForm
    title = "Modifier un document"
    success_message = "Le document a été modifié."

    def get_extra_form_kwargs(self):
        return {"editing": True}

    def get_initial(self):
        d = self.parent
        return {
            "title": d.title,
            "audience": d.audience,
            "description": d.description,
            "is_model_clause": d.is_model_clause,
        }

    def save(self, form):
        actions.update_document(
            document=self.parent,
            by=self.request.user,
            expected_version=self.expected_version,
            **form.cleaned_data,
        )


class PartnerCreateView(AdminFormView):
    form_class = PartnerForm
    title = "Nouveau partenaire"
    submit_label = "Ajouter ce partenaire"
    success_message = "Le partenaire a été ajouté."

    def save(self, form):
        actions.add_partner(facilitator=self.request.organization, by=self.request.user, **form.cleaned_data)


class PartnerEditView(OptimisticLockMixin, AdminFormView):
    model = Partner
    form_class = PartnerForm
    title = "Modifier un partenaire"
    success_message = "Le partenaire a été modifié."

    def get_extra_form_kwargs(self):
        return {"editing": True}

    def get_initial(self):
        p = self.parent
        return {"name": p.name, "url": p.url, "order": p.order}

    def save(self, form):
        actions.update_partner(
            partner=self.parent,
            by=self.request.user,
            expected_version=self.expected_version,
            **form.cleaned_data,
        )


class DeleteView(AdminFormView):
    form_class = ConfirmDeleteForm
    submit_label = "Supprimer définitivement"
    danger = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["danger"] = True
        return context


class DocumentDeleteView(DeleteView):
    model = PublicDocument
    title = "Supprimer un document"
    success_message = "Le document a été supprimé."

    def save(self, form):
        actions.delete_document(document=self.parent, by=self.request.user)


class PartnerDeleteView(DeleteView):
    model = Partner
    title = "Supprimer un partenaire"
    success_message = "Le partenaire a été supprimé."

    def save(self, form):
        actions.delete_partner(partner=self.parent, by=self.request.user)
