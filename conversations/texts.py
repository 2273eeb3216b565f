"""Everything the receptionist says, in Brazilian Portuguese first, English and Spanish when the
parent writes so. Warm and short, like a good receptionist on WhatsApp."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "greeting": {
        "pt": "Olá! Aqui é a recepção virtual da {unit}. 😊",
        "en": "Hi! This is the virtual front desk of {unit}. 😊",
        "es": "¡Hola! Aquí la recepción virtual de {unit}. 😊",
    },
    "greeting_back": {
        "pt": "Olá de novo, {name}! Aqui é a recepção da {unit}. 😊",
        "en": "Hi again, {name}! This is {unit}'s front desk. 😊",
        "es": "¡Hola de nuevo, {name}! Aquí la recepción de {unit}. 😊",
    },
    "how_can_i_help": {
        "pt": "Posso te ajudar com informações sobre o método, valores e horários, ou agendar uma visita com o teste diagnóstico gratuito. Como posso ajudar?",
        "en": "I can help with information about the method, prices and hours, or book a visit with the free diagnostic test. How can I help?",
        "es": "Puedo ayudarte con información sobre el método, precios y horarios, o agendar una visita con la prueba diagnóstica gratuita. ¿En qué te ayudo?",
    },
    "cta_visit": {
        "pt": "Quer agendar uma visita para conhecer a unidade e fazer o teste diagnóstico gratuito?",
        "en": "Would you like to book a visit to see the unit and take the free diagnostic test?",
        "es": "¿Quieres agendar una visita para conocer la unidad y hacer la prueba diagnóstica gratuita?",
    },
    "ask_parent_name": {
        "pt": "Para começar, qual é o seu nome?",
        "en": "To start, what is your name?",
        "es": "Para empezar, ¿cuál es tu nombre?",
    },
    "ask_child_name": {
        "pt": "E qual é o nome da criança que vai estudar?",
        "en": "And what is the name of the child who will study?",
        "es": "¿Y cómo se llama el niño o la niña que va a estudiar?",
    },
    "ask_child_age": {
        "pt": "Quantos anos {child} tem (ou em que ano da escola está)?",
        "en": "How old is {child} (or which school year)?",
        "es": "¿Cuántos años tiene {child} (o en qué año escolar está)?",
    },
    "ask_subject": {
        "pt": "Qual disciplina interessa: Matemática, Português, Inglês ou Japonês? Pode ser mais de uma.",
        "en": "Which subject: Math, Portuguese, English or Japanese? It can be more than one.",
        "es": "¿Qué materia: Matemáticas, Portugués, Inglés o Japonés? Puede ser más de una.",
    },
    "readback": {
        "pt": "Confere? Responsável: {parent}; criança: {child}, {age}; disciplina: {subjects}.",
        "en": "Is this right? Parent: {parent}; child: {child}, {age}; subject: {subjects}.",
        "es": "¿Está bien? Responsable: {parent}; niño/a: {child}, {age}; materia: {subjects}.",
    },
    "readback_corrected": {
        "pt": "Anotado! Agora confere? Responsável: {parent}; criança: {child}, {age}; disciplina: {subjects}.",
        "en": "Noted! Is it right now? Parent: {parent}; child: {child}, {age}; subject: {subjects}.",
        "es": "¡Anotado! ¿Ahora está bien? Responsable: {parent}; niño/a: {child}, {age}; materia: {subjects}.",
    },
    "what_to_fix": {
        "pt": "Sem problema! O que preciso corrigir?",
        "en": "No problem! What should I fix?",
        "es": "¡Sin problema! ¿Qué debo corregir?",
    },
    "offer_slots": {
        "pt": "Tenho estes horários para a visita com o teste diagnóstico:\n{options}\nQual fica melhor? Pode responder com o número ou sugerir outro dia e horário.",
        "en": "These times are free for the visit with the diagnostic test:\n{options}\nWhich works best? Reply with the number or suggest another day and time.",
        "es": "Tengo estos horarios para la visita con la prueba diagnóstica:\n{options}\n¿Cuál te queda mejor? Responde con el número o sugiere otro día y hora.",
    },
    "offer_slots_near": {
        "pt": "Nesse horário não tenho vaga, mas tenho:\n{options}\nAlgum desses serve?",
        "en": "That time is not free, but I have:\n{options}\nDoes one of these work?",
        "es": "En ese horario no hay lugar, pero tengo:\n{options}\n¿Alguno te sirve?",
    },
    "offer_slots_window": {
        "pt": "Nesse período tenho:\n{options}\nQual fica melhor?",
        "en": "In that period I have:\n{options}\nWhich works best?",
        "es": "En ese período tengo:\n{options}\n¿Cuál te queda mejor?",
    },
    "no_slots": {
        "pt": "No momento não encontrei horários livres nos próximos dias. Vou pedir para a equipe entrar em contato para combinar, tudo bem?",
        "en": "I could not find free times in the next days. I'll ask the team to contact you to arrange it, OK?",
        "es": "No encontré horarios libres en los próximos días. Le pediré al equipo que te contacte para combinar, ¿está bien?",
    },
    "calendar_down": {
        "pt": "Não consegui consultar a agenda agora. A equipe vai confirmar os horários com você em breve. 🙏",
        "en": "I couldn't check the calendar right now. The team will confirm the times with you shortly. 🙏",
        "es": "No pude consultar la agenda ahora. El equipo te confirmará los horarios en breve. 🙏",
    },
    "confirm_slot": {
        "pt": "Posso confirmar {slot} para {child}?",
        "en": "Shall I confirm {slot} for {child}?",
        "es": "¿Confirmo {slot} para {child}?",
    },
    "booked": {
        "pt": "Agendado! ✅ {slot} para {child}.\nEndereço: {address}.\nTraga: {bring}.\nSe precisar remarcar ou cancelar, é só me avisar por aqui.",
        "en": "Booked! ✅ {slot} for {child}.\nAddress: {address}.\nPlease bring: {bring}.\nIf you need to reschedule or cancel, just tell me here.",
        "es": "¡Agendado! ✅ {slot} para {child}.\nDirección: {address}.\nTrae: {bring}.\nSi necesitas cambiar o cancelar, avísame por aquí.",
    },
    "slot_taken": {
        "pt": "Poxa, esse horário acabou de ser preenchido. 😕",
        "en": "Sorry, that time was just taken. 😕",
        "es": "Uy, ese horario se acaba de ocupar. 😕",
    },
    "rescheduled": {
        "pt": "Remarcado! ✅ A visita de {child} agora é {slot}. Endereço: {address}.",
        "en": "Rescheduled! ✅ {child}'s visit is now {slot}. Address: {address}.",
        "es": "¡Cambiado! ✅ La visita de {child} ahora es {slot}. Dirección: {address}.",
    },
    "confirm_cancel": {
        "pt": "Quer mesmo cancelar a visita de {slot}? (sim/não)",
        "en": "Do you really want to cancel the visit on {slot}? (yes/no)",
        "es": "¿Seguro que quieres cancelar la visita de {slot}? (sí/no)",
    },
    "cancelled": {
        "pt": "Visita cancelada. Quando quiser agendar de novo, é só me chamar. 😊",
        "en": "Visit cancelled. Whenever you want to book again, just message me. 😊",
        "es": "Visita cancelada. Cuando quieras agendar de nuevo, escríbeme. 😊",
    },
    "kept": {
        "pt": "Combinado, mantive a visita de {slot}. 😊",
        "en": "OK, I kept the visit on {slot}. 😊",
        "es": "De acuerdo, mantuve la visita de {slot}. 😊",
    },
    "no_appointment": {
        "pt": "Não encontrei nenhuma visita futura agendada para este número.",
        "en": "I couldn't find any upcoming visit for this number.",
        "es": "No encontré ninguna visita próxima para este número.",
    },
    "change_too_late": {
        "pt": "Como a visita está muito próxima, vou pedir para alguém da equipe te ajudar com a mudança.",
        "en": "Since the visit is very soon, I'll ask someone from the team to help you with the change.",
        "es": "Como la visita es muy pronto, le pediré a alguien del equipo que te ayude con el cambio.",
    },
    "reminder_confirmed": {
        "pt": "Presença confirmada! ✅ Até {slot}. 😊",
        "en": "Attendance confirmed! ✅ See you {slot}. 😊",
        "es": "¡Asistencia confirmada! ✅ Nos vemos {slot}. 😊",
    },
    "already_booked": {
        "pt": "Você já tem uma visita agendada: {slot}. Quer remarcar?",
        "en": "You already have a visit booked: {slot}. Do you want to reschedule?",
        "es": "Ya tienes una visita agendada: {slot}. ¿Quieres cambiarla?",
    },
    "handoff_open": {
        "pt": "Vou chamar alguém da nossa equipe para falar com você. Em instantes te respondem por aqui. 🙏",
        "en": "I'll get someone from our team to talk to you. They'll answer here shortly. 🙏",
        "es": "Voy a llamar a alguien de nuestro equipo para hablar contigo. En breve te responden por aquí. 🙏",
    },
    "handoff_closed": {
        "pt": "Vou passar sua mensagem para a nossa equipe. A unidade está fechada agora; respondemos {next_open}. 🙏",
        "en": "I'll pass your message to our team. The unit is closed now; we'll answer {next_open}. 🙏",
        "es": "Pasaré tu mensaje a nuestro equipo. La unidad está cerrada ahora; respondemos {next_open}. 🙏",
    },
    "unknown_answer": {
        "pt": "Boa pergunta! Não tenho essa informação aqui, então vou confirmar com a equipe.",
        "en": "Good question! I don't have that information, so I'll check with the team.",
        "es": "¡Buena pregunta! No tengo esa información, así que lo confirmo con el equipo.",
    },
    "complaint": {
        "pt": "Sinto muito por isso. Quero que alguém da equipe cuide pessoalmente do seu caso.",
        "en": "I'm sorry about that. I want someone from the team to take care of it personally.",
        "es": "Lo siento mucho. Quiero que alguien del equipo se ocupe personalmente de tu caso.",
    },
    "not_understood": {
        "pt": "Desculpe, não entendi bem. Pode me explicar de outro jeito?",
        "en": "Sorry, I didn't quite get that. Could you say it another way?",
        "es": "Perdón, no entendí bien. ¿Puedes decirlo de otra forma?",
    },
    "decline": {
        "pt": "Desculpe, não posso ajudar com isso. Posso ajudar com informações sobre o Kumon e agendar uma visita. 😊",
        "en": "Sorry, I can't help with that. I can help with information about Kumon and booking a visit. 😊",
        "es": "Perdón, no puedo ayudar con eso. Puedo ayudarte con información sobre Kumon y agendar una visita. 😊",
    },
    "opt_out": {
        "pt": "Tudo bem, não vamos mais enviar mensagens para este número. Se quiser voltar a falar com a gente, é só escrever. 👋",
        "en": "OK, we won't send messages to this number anymore. If you want to talk again, just write. 👋",
        "es": "De acuerdo, no enviaremos más mensajes a este número. Si quieres volver a hablar, solo escribe. 👋",
    },
    "welcome_back_opt_in": {
        "pt": "Que bom falar com você de novo! Voltamos a te responder por aqui.",
        "en": "Good to hear from you again! We'll answer you here again.",
        "es": "¡Qué bueno hablar contigo de nuevo! Volvemos a responderte por aquí.",
    },
    "audio_please_type": {
        "pt": "Recebi seu áudio, mas ainda não consigo ouvir áudios por aqui. Pode me escrever em texto, por favor? 🙏",
        "en": "I got your voice note, but I can't listen to audio here yet. Could you type it, please? 🙏",
        "es": "Recibí tu audio, pero todavía no puedo escuchar audios aquí. ¿Puedes escribirlo, por favor? 🙏",
    },
    "got_image": {
        "pt": "Recebi sua imagem, obrigado! A equipe poderá vê-la por aqui.",
        "en": "Got your image, thanks! The team can see it here.",
        "es": "¡Recibí tu imagen, gracias! El equipo podrá verla aquí.",
    },
    "got_document": {
        "pt": "Recebi seu documento, obrigado! A equipe poderá vê-lo por aqui.",
        "en": "Got your document, thanks! The team can see it here.",
        "es": "¡Recibí tu documento, gracias! El equipo podrá verlo aquí.",
    },
    "got_other": {
        "pt": "😊",
        "en": "😊",
        "es": "😊",
    },
    "thanks": {
        "pt": "Por nada! Se precisar de algo, é só chamar. 😊",
        "en": "You're welcome! If you need anything, just message me. 😊",
        "es": "¡De nada! Si necesitas algo, escríbeme. 😊",
    },
    "age_years": {"pt": "{age} anos", "en": "{age} years old", "es": "{age} años"},
}


def say(key: str, lang: str = "pt", **values: Any) -> str:
    variants = TEXTS[key]
    return variants.get(lang, variants["pt"]).format(**values)
