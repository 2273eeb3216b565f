"""Django admin messages this project translates itself (never imported: `makemessages` reads it;
it skips every `locale/` folder, so this file lives here).

Django's own pt_BR catalogue builds sentences around a model's verbose name with a masculine
article and participle ("O {name} … foi alterado"), which reads wrong for the feminine names of
this admin ("fonte de conhecimento", "pergunta frequente", "reserva de horário"). Our catalogue
comes first (LOCALE_PATHS), so these msgids get gender-neutral Portuguese in
locale/translate_pt_br.py ("Alteração salva: {name} “{obj}”."). The msgids must stay exactly
Django's (django/contrib/admin/options.py).
"""

from django.utils.translation import gettext_noop as _
from django.utils.translation import ngettext_lazy

ADMIN_MESSAGES = [
    _("The {name} “{obj}” was added successfully."),
    _("The {name} “{obj}” was added successfully. You may add another {name} below."),
    _("The {name} “{obj}” was changed successfully."),
    _("The {name} “{obj}” was changed successfully. You may edit it again below."),
    _("The {name} “{obj}” was changed successfully. You may add another {name} below."),
    _("The %(name)s “%(obj)s” was deleted successfully."),
    _("%(name)s with ID “%(key)s” doesn’t exist. Perhaps it was deleted?"),
    _("You may edit it again below."),
    _("Added {name} “{object}”."),
    _("Changed {fields} for {name} “{object}”."),
    _("Deleted {name} “{object}”."),
    _("Added."),
    _("Changed {fields}."),
    _("Successfully deleted %(count)d %(items)s."),
]
ADMIN_PLURAL_MESSAGES = [
    ngettext_lazy(
        "%(count)s %(name)s was changed successfully.",
        "%(count)s %(name)s were changed successfully.",
        "count",
    ),
]
