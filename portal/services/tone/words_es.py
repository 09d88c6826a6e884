"""The words the tone check looks for in Spanish: the same kinds as words.py, as they are
written to customers (usted, with the tú forms staff slip into where they are common).

Phrases are folded as the draft is ("molestias ocasionadas" reads as "molestias ocasionadas",
"brevedad" as "brevedad", accents dropped); patterns are over those folded words.
"""

from __future__ import annotations

from portal.models.base import N_
from portal.services.tone import words as en

BLAME_PHRASES: tuple[str, ...] = (
    *("ha probado a", "ha intentado", "has probado a", "ha leído", "no ha leído", "no leyó"),
    # Not "debería haber" alone: "debería haberlo recibido ayer" is our fault, not theirs.
    *("debería haber leído", "debería haber revisado", "deberías haber leído", "debió leer"),
    *("como ya le dijimos", "como ya le indicamos", "como ya le hemos indicado", "como le dije"),
    *("como ya le comentamos", "como ya se le indicó", "según mi último correo"),
    *("error del usuario", "es culpa suya", "es su culpa", "no es culpa nuestra"),
    *("no es nuestra culpa", "se le olvidó", "usted olvidó", "lea el manual", "obviamente"),
    *("evidentemente",),
)

SALUTATIONS: tuple[str, ...] = (
    *("Estimado cliente", "Estimada cliente", "Estimado/a cliente", "Apreciado cliente"),
    *("Querido cliente", "Estimado usuario", "Estimado señor o señora", "Estimados señores"),
    *("Muy señor mío", "Muy señora mía", "Muy señores míos", "A quien corresponda"),
    *("A quien pueda interesar",),
)

_BAD_NEWS = N_("Say it plainly, and say sorry if it is bad news.")
_RECEIVED = N_("They know they wrote to us: say what you are doing.")
_REPLY_TO_YOU = N_("Say they can reply to you, by name.")
STOCK_PHRASES: dict[str, str] = {
    "a la mayor brevedad": en._SAY_WHEN,
    "a la mayor brevedad posible": en._SAY_WHEN,
    "en su debido momento": en._SAY_WHEN,
    "nos tomamos * muy en serio": en._SHOW_IT,
    "nos tomamos muy en serio": en._SHOW_IT,
    "nos tomamos * * muy en serio": en._SHOW_IT,
    "su * es muy importante para nosotros": en._SHOW_IT,
    "su * es importante para nosotros": en._SHOW_IT,
    "valoramos sus comentarios": en._SHOW_IT,
    "le informamos que": en._PLAINLY,
    "le comunicamos que": en._PLAINLY,
    "por medio de la presente": en._PLAINLY,
    "lamentamos informarle": _BAD_NEWS,
    "sentimos comunicarle": _BAD_NEWS,
    "hemos recibido su queja": _RECEIVED,
    "hemos recibido su reclamación": _RECEIVED,
    "acusamos recibo de": _RECEIVED,
    "no dude en ponerse en contacto con nosotros": _REPLY_TO_YOU,
    "no dude en contactarnos": _REPLY_TO_YOU,
    "no dude en contactar con nosotros": _REPLY_TO_YOU,
}

# Sorry for "las molestias": "disculpe las molestias", "lamentamos los inconvenientes que le
# hayamos podido causar".
NON_APOLOGY = (
    r"\b(?:(?:le |les )?(?:pedimos|pido) (?:disculpas|perdon) por|disculpen?|disculpa|perdonen?"
    r"|(?:lo )?(?:sentimos|siento|lamentamos|lamento)) (?:las|los|el|la|cualquier|todas las"
    r"|todos los) (?:molestias?|inconvenientes?|trastornos?)"
    r"(?: (?:ocasionad[oa]s?|causad[oa]s?|que (?:le |les )?(?:haya|hayamos|hayan|pueda|puedan"
    r"|podamos)(?: podido)? (?:causar|ocasionar|causado|ocasionado)))?\b"
)

# "Lamentamos informarle" is not one.
APOLOGY = (
    r"\b(?:lo sient[oe]|lo sentimos|siento mucho|sentimos mucho|disculp\w*|perdon\w*"
    r"|lament(?:o|amos)(?! (?:informar|comunicar)\w*)|(?:nos|me) equivoca(?:mos|do)"
    r"|culpa nuestra|culpa mia|(?:nuestro|mi) error|error nuestro|le (?:hemos|he) fallado)\b"
)

UPSET_WORDS: tuple[str, ...] = (
    *("furioso", "furiosa", "indignado", "indignada", "indignante", "vergonzoso", "vergüenza"),
    *("inaceptable", "ridículo", "harto", "harta", "estoy cansado de", "estoy cansada de"),
    *("inútil", "tercera vez", "cuarta vez", "sigo esperando", "todavía no", "aún no"),
    *("nadie me ha respondido", "nadie me ha contestado", "nunca más", "muy decepcionado"),
    *("muy decepcionada", "muy enfadado", "muy enfadada", "muy molesto", "muy molesta"),
    *("una estafa",),
)

# Passing around, over the text as typed (case ignored): sending them to a department, team or
# address ("llame a nuestro departamento de facturación", "escriba a pagos@example.com") ...
_SEND = (
    r"(?:contact(?:e|en|ar)\s+con|llam(?:e|en|ar)\s+al?|escrib(?:a|an|ir)\s+al?"
    r"|habl(?:e|en|ar)\s+con|dir[ií]j(?:ase|anse|irse)\s+al?|p[oó]ngase\s+en\s+contacto\s+con"
    r"|ponerse\s+en\s+contacto\s+con|consult(?:e|en|ar)\s+con|acud(?:a|an|ir)\s+al?)"
)
_ELSEWHERE = (
    r"(?:(?:(?:el|la|nuestr[oa]|su)\s+)?(?:[\w-]+\s+){0,2}?"
    r"(?:departamento|servicio|equipo|oficina|centralita|atenci[oó]n\s+al\s+cliente)\b"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
)
PASSING_AROUND = (
    rf"(?:(?:por\s+favor,?|(?:tiene|tendr[aá])\s+que|debe(?:r[aá])?|puede|le\s+(?:recomiendo|recomendamos"
    rf"|sugiero|sugerimos|aconsejo|aconsejamos)(?:\s+que)?)\s+)?\b{_SEND}\s+{_ELSEWHERE}",
    # ... "eso lo lleva otro departamento", "no es competencia nuestra"
    r"\b(?:lo|la)\s+(?:lleva|gestiona|tramita)\s+otro\s+(?:departamento|equipo)\b",
    r"\bcorresponde\s+a\s+otro\s+(?:departamento|equipo)\b",
    r"\bno\s+es\s+(?:de\s+)?(?:nuestro|mi)\s+departamento\b",
    r"\bno\s+es\s+(?:competencia\s+nuestra|de\s+nuestra\s+competencia)\b",
)
# "Voy a llamar al equipo de envíos": the writer doing it.
OUR_OWN_DOING = r"\b(?:voy|vamos)\s+a\s+$"
TELLS_THEM = r"(?:por|tiene|tendr\w+|debe\w*|puede|le)\b"

# A next step, over folded words: a first-person future ("le llamaré", "revisaremos"), "voy a",
# "me encargo", or "próximos pasos".
FUTURE_ACTION = (
    r"\b(?:llam|escrib|envi|mand|avis|inform|contact|revis|comprob|reembols|devolv|cambi"
    r"|arregl|solucion|resolv|investig|confirm|respond|contest|gestion|tramit|verific|compens"
    r"|repar|sustitu|reenvi|actualiz|ocup|encarg|abon|hablar|pregunt)(?:are|aremos|ere|eremos"
    r"|ire|iremos)\b|\b(?:har|pondr|dir|volver|mantendr|tendr|podr|sabr|saldr)(?:e|emos)\b"
    r"|\b(?:voy|vamos) a\b|\b(?:me|nos) (?:encargo|encargamos|ocupo|ocupamos)\b"
    r"|\b(?:proximos?|siguientes?) pasos?\b"
)
FUTURE_CONTRACTED = r"(?!)"  # Spanish has no contracted future
WHEN = (
    r"\b(?:lunes|martes|miercoles|jueves|viernes|sabado|domingo|hoy|manana|pasado manana"
    r"|esta (?:tarde|noche|semana)|(?:la )?(?:proxima semana|semana que viene)|este mes"
    r"|(?:a )?(?:final|fin) de (?:la semana|mes|dia)"
    r"|(?:en|dentro de) (?:\w+ ){1,2}(?:horas|dias|semanas|minutos)"
    r"|\d{1,2} de (?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre"
    r"|octubre|noviembre|diciembre)|\d{1,4} \d{1,2} \d{1,4}|a las \d{1,2})\b"
)
