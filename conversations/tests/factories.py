import factory

from conversations.models import Conversation, Message
from kumon.tests.factories import ContactFactory, UnitFactory  # noqa: F401  (re-exported for tests)


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    contact = factory.SubFactory(ContactFactory)
    unit = factory.SelfAttribute("contact.unit")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    unit = factory.SelfAttribute("conversation.unit")
    direction = Message.Direction.IN
    sender = Message.Sender.PARENT
    body = "oi"
    status = Message.Status.RECEIVED
    provider_id = factory.Sequence(lambda n: f"PROVIDER{n:06d}")
