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
    "hello_again": {
        "pt": "Oi! Estou por aqui. 😊",
        "en": "Hi! I'm here. 😊",
        "es": "¡Hola! Estoy por aquí. 😊",
    },
    "how_can_i_help": {
        "pt": "Posso te ajudar com valores, horários e como funciona o método, ou agendar uma visita gratuita com o teste diagnóstico. O que você gostaria de saber?",
        "en": "I can help with prices, hours and how the method works, or book a free visit with the diagnostic test. What would you like to know?",
        "es": "Puedo ayudarte con precios, horarios y cómo funciona el método, o agendar una visita gratuita con la prueba diagnóstica. ¿Qué te gustaría saber?",
    },
    "cta_visit": {
        "pt": "Se quiser, posso agendar uma visita gratuita para vocês conhecerem a unidade e a criança fazer o teste diagnóstico. 😊",
        "en": "If you like, I can book a free visit so you can see the unit and your child can take the diagnostic test. 😊",
        "es": "Si quieres, puedo agendar una visita gratuita para que conozcan la unidad y el niño haga la prueba diagnóstica. 😊",
    },
    "lets_book": {
        "pt": "Claro, vamos agendar a visita! 😊",
        "en": "Sure, let's book the visit! 😊",
        "es": "¡Claro, agendemos la visita! 😊",
    },
    "ask_child_name": {
        "pt": "Qual é o nome da criança?",
        "en": "What is your child's name?",
        "es": "¿Cómo se llama el niño o la niña?",
    },
    "ask_other_child_name": {
        "pt": "E qual é o nome da outra criança?",
        "en": "And what is the other child's name?",
        "es": "¿Y cómo se llama el otro niño?",
    },
    "ask_child_age_any": {
        "pt": "Quantos anos a criança tem (ou em que ano está na escola)?",
        "en": "How old is your child (or which school year)?",
        "es": "¿Cuántos años tiene el niño (o en qué año escolar está)?",
    },
    "ask_subject_any": {
        "pt": "Qual disciplina interessa: {options}? Pode ser mais de uma.",
        "en": "Which subject: {options}? It can be more than one.",
        "es": "¿Qué materia: {options}? Puede ser más de una.",
    },
    "ask_child_age": {
        "pt": "Quantos anos {child} tem (ou em que ano está na escola)?",
        "en": "How old is {child} (or which school year)?",
        "es": "¿Cuántos años tiene {child} (o en qué año escolar está)?",
    },
    "ask_subject": {
        "pt": "Qual disciplina interessa para {child}: {options}? Pode ser mais de uma.",
        "en": "Which subject for {child}: {options}? It can be more than one.",
        "es": "¿Qué materia para {child}: {options}? Puede ser más de una.",
    },
    "ask_parent_name": {
        "pt": "E qual é o seu nome?",
        "en": "And what is your name?",
        "es": "¿Y cuál es tu nombre?",
    },
    "noted": {"pt": "Anotado! 👍", "en": "Noted! 👍", "es": "¡Anotado! 👍"},
    "noted_name": {
        "pt": "Obrigada, {name}! Anotei aqui. 😊",
        "en": "Thank you, {name}! Noted. 😊",
        "es": "¡Gracias, {name}! Lo anoté. 😊",
    },
    "offer_slots_any": {
        "pt": "Tenho estes horários para a visita:\n{options}\nQual fica melhor? Pode responder com o número ou sugerir outro dia e horário.",
        "en": "These times are free for the visit:\n{options}\nWhich works best? Reply with the number or suggest another day and time.",
        "es": "Tengo estos horarios para la visita:\n{options}\n¿Cuál te queda mejor? Responde con el número o sugiere otro día y hora.",
    },
    "offer_slots": {
        "pt": "Tenho estes horários para a visita de {child}:\n{options}\nQual fica melhor? Pode responder com o número ou sugerir outro dia e horário.",
        "en": "These times are free for {child}'s visit:\n{options}\nWhich works best? Reply with the number or suggest another day and time.",
        "es": "Tengo estos horarios para la visita de {child}:\n{options}\n¿Cuál te queda mejor? Responde con el número o sugiere otro día y hora.",
    },
    "offer_slots_window": {
        "pt": "Nesse período tenho:\n{options}\nQual fica melhor?",
        "en": "In that period I have:\n{options}\nWhich works best?",
        "es": "En ese período tengo:\n{options}\n¿Cuál te queda mejor?",
    },
    "offer_slots_near": {
        "pt": "Os horários livres mais próximos são:\n{options}\nAlgum desses serve?",
        "en": "The nearest free times are:\n{options}\nDoes one of these work?",
        "es": "Los horarios libres más cercanos son:\n{options}\n¿Alguno te sirve?",
    },
    "slot_free": {
        "pt": "{slot} está livre, sim! ✅ Já separei para vocês.",
        "en": "{slot} is free! ✅ I'm holding it for you.",
        "es": "¡{slot} está libre! ✅ Lo reservo para ustedes.",
    },
    "period_free": {
        "pt": "Nesse período tenho horários livres, sim! ✅",
        "en": "I have free times then! ✅",
        "es": "¡Tengo horarios libres en ese período! ✅",
    },
    "why_closed_weekday": {
        "pt": "{article} {weekday}s a unidade não abre.",
        "en": "The unit is closed on {weekday}s.",
        "es": "Los {weekday} la unidad no abre.",
    },
    "why_closure": {
        "pt": "No dia {day} a unidade estará fechada ({reason}).",
        "en": "The unit will be closed on {day} ({reason}).",
        "es": "El día {day} la unidad estará cerrada ({reason}).",
    },
    "why_holiday": {
        "pt": "No dia {day} é feriado ({reason}) e a unidade não abre.",
        "en": "{day} is a public holiday ({reason}) and the unit is closed.",
        "es": "El día {day} es feriado ({reason}) y la unidad no abre.",
    },
    "why_hours": {
        "pt": "Nesse horário não consigo: {weekday} as visitas começam entre {first} e {last}.",
        "en": "That time doesn't work: on {weekday} visits start between {first} and {last}.",
        "es": "Ese horario no es posible: el {weekday} las visitas empiezan entre las {first} y las {last}.",
    },
    "why_hours_morning_only": {
        "pt": "Nesse horário não consigo: {weekday} a unidade abre só de manhã (à tarde fica fechada); as visitas começam entre {first} e {last}.",
        "en": "That time doesn't work: on {weekday} the unit is open only in the morning (closed in the afternoon); visits start between {first} and {last}.",
        "es": "Ese horario no es posible: el {weekday} la unidad abre solo por la mañana (por la tarde está cerrada); las visitas empiezan entre las {first} y las {last}.",
    },
    "why_hours_afternoon_only": {
        "pt": "Nesse horário não consigo: {weekday} a unidade abre só à tarde (de manhã fica fechada); as visitas começam entre {first} e {last}.",
        "en": "That time doesn't work: on {weekday} the unit is open only in the afternoon (closed in the morning); visits start between {first} and {last}.",
        "es": "Ese horario no es posible: el {weekday} la unidad abre solo por la tarde (por la mañana está cerrada); las visitas empiezan entre las {first} y las {last}.",
    },
    "subject_not_offered": {
        "pt": "{subjects} não é oferecido nesta unidade; aqui temos {options}.",
        "en": "{subjects} is not offered at this unit; here we have {options}.",
        "es": "{subjects} no se ofrece en esta unidad; aquí tenemos {options}.",
    },
    "why_soon": {
        "pt": "Esse horário está muito em cima da hora para eu reservar.",
        "en": "That time is too soon for me to book.",
        "es": "Ese horario es demasiado pronto para reservarlo.",
    },
    "why_far": {
        "pt": "Ainda não abrimos a agenda para essa data.",
        "en": "The calendar is not open for that date yet.",
        "es": "Todavía no abrimos la agenda para esa fecha.",
    },
    "why_taken": {
        "pt": "Esse horário já está ocupado.",
        "en": "That time is already taken.",
        "es": "Ese horario ya está ocupado.",
    },
    "why_period_full": {
        "pt": "Nesse período não tenho horários livres.",
        "en": "I have no free times in that period.",
        "es": "No tengo horarios libres en ese período.",
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
    "pick_number": {
        "pt": "Qual deles? Pode responder com o número (1 a {n}).",
        "en": "Which one? Reply with the number (1 to {n}).",
        "es": "¿Cuál? Responde con el número (1 a {n}).",
    },
    "other_time": {
        "pt": "Sem problema! Qual dia e horário ficam melhor para vocês?",
        "en": "No problem! Which day and time would suit you?",
        "es": "¡Sin problema! ¿Qué día y hora les queda mejor?",
    },
    "booked": {
        "pt": "Agendado! ✅ {slot} para {child}.\nEndereço: {address}.\nTraga: {bring}.\nSe precisar remarcar ou cancelar, é só me avisar por aqui.",
        "en": "Booked! ✅ {slot} for {child}.\nAddress: {address}.\nPlease bring: {bring}.\nIf you need to reschedule or cancel, just tell me here. See you then!",
        "es": "¡Agendado! ✅ {slot} para {child}.\nDirección: {address}.\nTrae: {bring}.\nSi necesitas cambiar o cancelar, avísame por aquí. ¡Gracias y nos vemos!",
    },
    "slot_taken": {
        "pt": "Poxa, esse horário acabou de ser preenchido. 😕",
        "en": "Sorry, that time was just taken. 😕",
        "es": "Uy, ese horario se acaba de ocupar. 😕",
    },
    "ask_reschedule_when": {
        "pt": "Claro, dá para remarcar a visita de {child} ({slot}).",
        "en": "Sure, we can move {child}'s visit ({slot}).",
        "es": "Claro, podemos cambiar la visita de {child} ({slot}).",
    },
    "rescheduled": {
        "pt": "Remarcado! ✅ A visita de {child} agora é {slot}.\nEndereço: {address}.",
        "en": "Rescheduled! ✅ {child}'s visit is now {slot}.\nAddress: {address}.",
        "es": "¡Cambiado! ✅ La visita de {child} ahora es {slot}.\nDirección: {address}.",
    },
    "confirm_cancel": {
        "pt": "Quer mesmo cancelar a visita de {slot}? (sim/não)",
        "en": "Do you really want to cancel the visit on {slot}? (yes/no)",
        "es": "¿Seguro que quieres cancelar la visita de {slot}? (sí/no)",
    },
    "cancelled": {
        "pt": "Pronto, cancelei a visita de {child} de {slot}. Se quiser marcar outro dia, é só me dizer. 😊",
        "en": "Done, I cancelled {child}'s visit on {slot}. If you'd like another day, just tell me. 😊",
        "es": "Listo, cancelé la visita de {child} del {slot}. Si quieres otro día, dímelo. 😊",
    },
    "cancelled_short": {
        "pt": "Pronto, cancelei a visita de {child} de {slot}.",
        "en": "Done, I cancelled {child}'s visit on {slot}.",
        "es": "Listo, cancelé la visita de {child} del {slot}.",
    },
    "no_rebook": {
        "pt": "Tudo bem! Se mudar de ideia, é só chamar por aqui. 😊",
        "en": "No problem! If you change your mind, just message me. 😊",
        "es": "¡Está bien! Si cambias de idea, escríbeme. 😊",
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
        "pt": "Vocês já têm uma visita agendada: {slot}. Quer remarcar?",
        "en": "You already have a visit booked: {slot}. Do you want to reschedule?",
        "es": "Ya tienen una visita agendada: {slot}. ¿Quieres cambiarla?",
    },
    "my_visit": {
        "pt": "A visita de {child} está marcada para {slot}, aqui na unidade ({address}). 😊",
        "en": "{child}'s visit is booked for {slot}, here at the unit ({address}). 😊",
        "es": "La visita de {child} está agendada para el {slot}, aquí en la unidad ({address}). 😊",
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
    "waiting_notice": {
        "pt": "Já avisei a equipe, e assim que alguém puder te responde por aqui. 🙏",
        "en": "I've already let the team know; someone will answer here as soon as they can. 🙏",
        "es": "Ya avisé al equipo; en cuanto alguien pueda te responde por aquí. 🙏",
    },
    "unknown_answer": {
        "pt": "Boa pergunta! Essa informação eu não tenho aqui, então vou confirmar com a equipe e te retorno por aqui. 😊",
        "en": "Good question! I don't have that information here, so I'll check with the team and get back to you here. 😊",
        "es": "¡Buena pregunta! No tengo esa información aquí, así que lo confirmo con el equipo y te respondo por aquí. 😊",
    },
    "personal_data": {
        "pt": "Dados pessoais de outras pessoas eu não posso passar. Já deixei sua mensagem para a equipe, que te responde por aqui. 🙏",
        "en": "I can't share other people's personal details. I've passed your message to the team, who will answer here. 🙏",
        "es": "No puedo compartir datos personales de otras personas. Ya dejé tu mensaje al equipo, que te responde por aquí. 🙏",
    },
    "student_record": {
        "pt": "Sobre o dia a dia do aluno, quem acompanha é a equipe da unidade: já passei sua mensagem para eles, e te respondem por aqui. 😊",
        "en": "The unit's team follows each student's progress: I've passed your message on and they'll answer here. 😊",
        "es": "Del día a día del alumno se ocupa el equipo de la unidad: ya les pasé tu mensaje y te responden por aquí. 😊",
    },
    "clarify": {
        "pt": "Só para eu te responder certinho, você quer saber:\n{options}",
        "en": "Just so I answer the right thing, do you mean:\n{options}",
        "es": "Para responderte bien, ¿quieres saber:\n{options}",
    },
    "in_portuguese": {
        "pt": "",
        "en": "Here is our information (in Portuguese):",
        "es": "Esta es nuestra información (en portugués):",
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
    "how_are_you": {
        "pt": "Tudo ótimo por aqui, obrigada por perguntar! 😊",
        "en": "All good here, thanks for asking! 😊",
        "es": "¡Todo muy bien por aquí, gracias por preguntar! 😊",
    },
    "ask_away": {
        "pt": "Claro, pode perguntar! 😊",
        "en": "Sure, go ahead! 😊",
        "es": "¡Claro, pregunta nomás! 😊",
    },
    "bot_identity": {
        "pt": "Sou a assistente virtual da {unit}: tiro dúvidas e agendo visitas. Se preferir falar com alguém da equipe, é só pedir. 😊",
        "en": "I'm {unit}'s virtual assistant: I answer questions and book visits. If you'd rather talk to someone from the team, just ask. 😊",
        "es": "Soy la asistente virtual de {unit}: respondo dudas y agendo visitas. Si prefieres hablar con alguien del equipo, solo pídelo. 😊",
    },
    "offtopic": {
        "pt": "Haha, disso eu não entendo muito. 😅 Mas posso te ajudar com tudo sobre o Kumon: valores, horários, o método ou agendar uma visita.",
        "en": "Ha, that's not my area. 😅 But I can help with everything about Kumon: prices, hours, the method or booking a visit.",
        "es": "Jaja, de eso no sé mucho. 😅 Pero puedo ayudarte con todo sobre Kumon: precios, horarios, el método o agendar una visita.",
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
    "take_your_time": {
        "pt": "Claro, sem pressa! Quando quiser, é só me chamar por aqui. 😊",
        "en": "Of course, no rush! Whenever you're ready, just message me here. 😊",
        "es": "¡Claro, sin prisa! Cuando quieras, escríbeme por aquí. 😊",
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
        "pt": "Recebi sua imagem, obrigada! A equipe também consegue vê-la por aqui.",
        "en": "Got your image, thanks! The team can see it here too.",
        "es": "¡Recibí tu imagen, gracias! El equipo también puede verla aquí.",
    },
    "got_document": {
        "pt": "Recebi seu documento, obrigada! A equipe também consegue vê-lo por aqui.",
        "en": "Got your document, thanks! The team can see it here too.",
        "es": "¡Recibí tu documento, gracias! El equipo también puede verlo aquí.",
    },
    "got_other": {"pt": "😊", "en": "😊", "es": "😊"},
    "thanks": {
        "pt": "Por nada! Se precisar de algo, é só chamar. 😊",
        "en": "You're welcome! If you need anything, just message me. 😊",
        "es": "¡De nada! Si necesitas algo, escríbeme. 😊",
    },
    "too_many": {
        "pt": "Recebi suas mensagens! Já te respondo. 🙏",
        "en": "I got your messages! I'll answer shortly. 🙏",
        "es": "¡Recibí tus mensajes! Ya te respondo. 🙏",
    },
    "open_now": {
        "pt": "Sim! Hoje estamos abertos até as {until}.",
        "en": "Yes! We're open today until {until}.",
        "es": "¡Sí! Hoy estamos abiertos hasta las {until}.",
    },
    "closed_day": {
        "pt": "{day} a unidade não abre; abrimos {next_open}.",
        "en": "The unit is closed {day}; we open {next_open}.",
        "es": "{day} la unidad no abre; abrimos {next_open}.",
    },
    "open_day": {
        "pt": "{day} abrimos {hours}.",
        "en": "{day} we're open {hours}.",
        "es": "{day} abrimos {hours}.",
    },
    "age_years": {"pt": "{age} anos", "en": "{age} years old", "es": "{age} años"},
    "and": {"pt": "e", "en": "and", "es": "y"},
    "or": {"pt": "ou", "en": "or", "es": "o"},
    "the_child": {"pt": "a criança", "en": "your child", "es": "el niño"},
    "today": {"pt": "Hoje", "en": "Today", "es": "Hoy"},
    "tomorrow": {"pt": "Amanhã", "en": "Tomorrow", "es": "Mañana"},
}


def say(key: str, lang: str = "pt", **values: Any) -> str:
    variants = TEXTS[key]
    return variants.get(lang, variants["pt"]).format(**values)


SUBJECT_NAMES = {
    "en": {"Matemática": "Math", "Português": "Portuguese", "Inglês": "English", "Japonês": "Japanese"},
    "es": {"Matemática": "Matemáticas", "Português": "Portugués", "Inglês": "Inglés", "Japonês": "Japonés"},
}


def subject_options(subjects: list[str], lang: str = "pt") -> str:
    """A unit's subjects as a parent reads them: "Matemática, Português ou Inglês"."""
    names = [SUBJECT_NAMES.get(lang, {}).get(s, s) for s in subjects]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" {say('or', lang)} " + names[-1]


def join(items: list[str], lang: str = "pt") -> str:
    """ "A, B e C"."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {say('and', lang)} " + items[-1]
