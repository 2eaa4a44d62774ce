# ruff: noqa: RUF001, E501 - sentences in CJK and Thai use their own punctuation
"""The bot's own short sentences, in the languages LINE's main markets speak.

Anything not listed falls back to English; the LLM itself answers in any language.
"""

from __future__ import annotations

import re

_TEXTS: dict[str, dict[str, str]] = {
    "greeting": {
        "en": "Hello{name}! Thanks for adding me. Ask me anything, send a photo or a document. Type /help for commands.",
        "ja": "こんにちは{name}！友だち追加ありがとうございます。質問や写真、文書を送ってください。/help でコマンド一覧を表示します。",
        "th": "สวัสดี{name}! ขอบคุณที่เพิ่มเพื่อน ถามอะไรก็ได้ ส่งรูปหรือเอกสารมาได้เลย พิมพ์ /help เพื่อดูคำสั่ง",
        "zh": "你好{name}！感謝加我為好友。歡迎提問，或傳送照片、文件。輸入 /help 查看指令。",
    },
    "group_greeting": {
        "en": "Hello everyone! Mention me or start a message with /bot and I will answer.",
        "ja": "みなさん、こんにちは！メンションするか /bot で始めると返信します。",
        "th": "สวัสดีทุกคน! แท็กฉันหรือขึ้นต้นข้อความด้วย /bot แล้วฉันจะตอบ",
        "zh": "大家好！提及我或以 /bot 開頭，我就會回覆。",
    },
    "welcome_member": {
        "en": "Welcome{name}!",
        "ja": "ようこそ{name}！",
        "th": "ยินดีต้อนรับ{name}!",
        "zh": "歡迎{name}！",
    },
    "apology": {
        "en": "Sorry, I can't answer right now. Please try again in a moment.",
        "ja": "申し訳ありません。ただいま応答できません。しばらくしてからもう一度お試しください。",
        "th": "ขออภัย ตอนนี้ยังตอบไม่ได้ กรุณาลองใหม่อีกครั้งในภายหลัง",
        "zh": "抱歉，我現在無法回答，請稍後再試。",
    },
    "unsupported": {
        "en": "Sorry, I can't read this kind of message yet. Please send text, a photo, or a PDF, DOCX, TXT or CSV file.",
        "ja": "申し訳ありません。この種類のメッセージにはまだ対応していません。テキスト、写真、PDF・DOCX・TXT・CSV ファイルを送ってください。",
        "th": "ขออภัย ยังอ่านข้อความประเภทนี้ไม่ได้ กรุณาส่งข้อความ รูปภาพ หรือไฟล์ PDF, DOCX, TXT หรือ CSV",
        "zh": "抱歉，我還無法讀取這類訊息。請傳送文字、照片，或 PDF、DOCX、TXT、CSV 檔案。",
    },
    "file_too_large": {
        "en": "Sorry, that file is too large for me (the limit is {limit} MB).",
        "ja": "申し訳ありません。ファイルが大きすぎます（上限 {limit} MB）。",
        "th": "ขออภัย ไฟล์ใหญ่เกินไป (จำกัด {limit} MB)",
        "zh": "抱歉，檔案太大了（上限 {limit} MB）。",
    },
    "file_unreadable": {
        "en": "Sorry, I couldn't read any text in that file.",
        "ja": "申し訳ありません。ファイルから文字を読み取れませんでした。",
        "th": "ขออภัย อ่านข้อความในไฟล์นี้ไม่ได้",
        "zh": "抱歉，我無法讀取這個檔案中的文字。",
    },
    "image_unreadable": {
        "en": "Sorry, I couldn't open that picture.",
        "ja": "申し訳ありません。画像を開けませんでした。",
        "th": "ขออภัย เปิดรูปภาพนี้ไม่ได้",
        "zh": "抱歉，我無法開啟這張圖片。",
    },
    "sticker": {
        "en": "Nice sticker! 😊",
        "ja": "素敵なスタンプですね！😊",
        "th": "สติกเกอร์น่ารักจัง! 😊",
        "zh": "好可愛的貼圖！😊",
    },
    "location": {
        "en": "Thanks for sharing your location{place}! 📍",
        "ja": "位置情報をありがとうございます{place}！📍",
        "th": "ขอบคุณที่แชร์ตำแหน่ง{place}! 📍",
        "zh": "謝謝你分享位置{place}！📍",
    },
    "rate_limited": {
        "en": "You're sending messages very quickly. Please wait a minute and try again.",
        "ja": "メッセージの送信が速すぎます。1分ほど待ってからもう一度お試しください。",
        "th": "คุณส่งข้อความเร็วเกินไป กรุณารอสักครู่แล้วลองใหม่",
        "zh": "你傳送訊息的速度太快了，請稍等一分鐘再試。",
    },
    "over_budget": {
        "en": "You've reached today's usage limit. Let's talk again tomorrow!",
        "ja": "本日の利用上限に達しました。また明日お話ししましょう！",
        "th": "คุณใช้งานครบโควตาของวันนี้แล้ว พรุ่งนี้คุยกันใหม่นะ!",
        "zh": "你已達到今天的使用上限，明天再聊吧！",
    },
    "help": {
        "en": "Send me a question, a photo or a document (PDF, DOCX, TXT, CSV).\n"
        "/reset – start a new conversation\n/lang <code> – always answer in one language (e.g. /lang ja; /lang auto: yours)\n"
        "/stop – no more news and offers\n/start – news and offers again\n/help – this message",
        "ja": "質問、写真、文書（PDF・DOCX・TXT・CSV）を送ってください。\n"
        "/reset – 新しい会話を始める\n/lang <コード> – 返信の言語を固定（例: /lang en、/lang auto で自動）\n"
        "/stop – お知らせの配信を停止\n/start – お知らせの配信を再開\n/help – このメッセージ",
        "th": "ส่งคำถาม รูปภาพ หรือเอกสาร (PDF, DOCX, TXT, CSV) มาได้เลย\n"
        "/reset – เริ่มบทสนทนาใหม่\n/lang <รหัส> – เลือกภาษาที่ใช้ตอบ (เช่น /lang th, /lang auto ตามภาษาที่พิมพ์)\n"
        "/stop – หยุดรับข่าวสาร\n/start – รับข่าวสารอีกครั้ง\n/help – ข้อความนี้",
        "zh": "傳送問題、照片或文件（PDF、DOCX、TXT、CSV）給我。\n"
        "/reset – 開始新對話\n/lang <代碼> – 固定回覆語言（例如 /lang zh-TW；/lang auto 自動）\n"
        "/stop – 停止接收消息\n/start – 重新接收消息\n/help – 顯示此訊息",
    },
    "opted_out": {
        "en": "OK, you won't receive news and offers from us any more. Type /start to get them again.",
        "ja": "承知しました。今後はお知らせやキャンペーンを配信しません。再開するには /start と送ってください。",
        "th": "รับทราบ จะไม่ส่งข่าวสารและโปรโมชันให้คุณอีก พิมพ์ /start เพื่อรับอีกครั้ง",
        "zh": "好的，之後不會再傳送最新消息和優惠給你。輸入 /start 即可重新接收。",
    },
    "opted_in": {
        "en": "Welcome back! You'll receive our news and offers again. Type /stop to stop them.",
        "ja": "おかえりなさい！お知らせやキャンペーンの配信を再開します。停止するには /stop と送ってください。",
        "th": "ยินดีต้อนรับกลับ! คุณจะได้รับข่าวสารและโปรโมชันอีกครั้ง พิมพ์ /stop เพื่อหยุดรับ",
        "zh": "歡迎回來！你將再次收到最新消息和優惠。輸入 /stop 即可停止接收。",
    },
    "reset_done": {
        "en": "Done! I've forgotten our conversation. Let's start fresh.",
        "ja": "会話をリセットしました。新しく始めましょう！",
        "th": "ล้างบทสนทนาแล้ว เริ่มต้นใหม่กันเลย!",
        "zh": "好的！我已清除我們的對話，重新開始吧。",
    },
    "lang_set": {
        "en": "OK, I'll answer in {language} from now on.",
        "ja": "これからは {language} で返信します。",
        "th": "ตกลง จากนี้จะตอบเป็นภาษา{language}",
        "zh": "好的，之後我會用 {language} 回覆。",
    },
    "lang_auto": {
        "en": "OK, I'll answer in the language you write in.",
        "ja": "これからは、送られた言語で返信します。",
        "th": "ตกลง จากนี้จะตอบเป็นภาษาที่คุณพิมพ์มา",
        "zh": "好的，之後我會用你傳訊息的語言回覆。",
    },
    "lang_invalid": {
        "en": "Please give a language code, for example /lang en, /lang ja or /lang zh-TW, or /lang auto.",
        "ja": "言語コードを指定してください（例: /lang en、/lang ja、/lang zh-TW、/lang auto）。",
        "th": "กรุณาระบุรหัสภาษา เช่น /lang en, /lang ja, /lang th หรือ /lang auto",
        "zh": "請提供語言代碼，例如 /lang en、/lang ja、/lang zh-TW 或 /lang auto。",
    },
    "unknown_command": {
        "en": "I don't know that command. Type /help to see what I can do.",
        "ja": "そのコマンドはわかりません。/help で使い方を確認できます。",
        "th": "ไม่รู้จักคำสั่งนี้ พิมพ์ /help เพื่อดูสิ่งที่ทำได้",
        "zh": "我不認識這個指令。輸入 /help 查看我能做什麼。",
    },
    "postback_unknown": {
        "en": "Sorry, that button is no longer available.",
        "ja": "申し訳ありません。このボタンは現在使えません。",
        "th": "ขออภัย ปุ่มนี้ใช้งานไม่ได้แล้ว",
        "zh": "抱歉，這個按鈕已無法使用。",
    },
    "rich_message_gone": {
        "en": "Sorry, this message is no longer available. Feel free to ask me anything, though!",
        "ja": "申し訳ありません。このメッセージはもうご覧いただけません。ほかにご質問があればどうぞ。",
        "th": "ขออภัย ข้อความนี้ไม่มีให้ดูแล้ว แต่ถามอะไรก็ได้เลยนะ",
        "zh": "抱歉，這則訊息已無法查看。有任何問題都歡迎問我！",
    },
    "rich_liked": {
        "en": "Thanks for the like! Glad you enjoyed it.",
        "ja": "いいねありがとうございます！気に入っていただけてうれしいです。",
        "th": "ขอบคุณที่กดถูกใจ! ดีใจที่คุณชอบนะ",
        "zh": "謝謝你的讚！很高興你喜歡。",
    },
    "rich_saved": {
        "en": "Saved! We'll keep it for you.",
        "ja": "保存しました！",
        "th": "บันทึกไว้ให้แล้ว!",
        "zh": "已為你收藏！",
    },
    "rich_share": {
        "en": "Share it with your friends on LINE:\n{link}",
        "ja": "LINEで友だちにシェアできます：\n{link}",
        "th": "แชร์ให้เพื่อนใน LINE ได้เลย:\n{link}",
        "zh": "在 LINE 上分享給朋友：\n{link}",
    },
}


def base_language(language: str | None) -> str:
    """``"ja-JP"`` → ``"ja"``; ``"zh-TW"`` → ``"zh"``; anything unknown → ``"en"``."""
    base = (language or "en").replace("_", "-").split("-")[0].lower()
    return base if base in _TEXTS["apology"] else "en"


# Scripts that give a language of these sentences away on their own; Latin letters or Han characters alone do not.
_SCRIPTS = (("th", re.compile("[\u0e00-\u0e7f]")), ("ja", re.compile("[\u3040-\u30ff]")))


def sentence_language(*, language: str, chosen: bool, said: str = "") -> str:
    """The language of the bot's sentences for a user: the one chosen with /lang; else the language of what the
    user just wrote, where its script tells (Thai, or Japanese kana); else ``language``, the LINE app's."""
    if not chosen:
        for code, script in _SCRIPTS:
            if script.search(said):
                return code
    return language


def text(key: str, lang: str | None, **values: str) -> str:
    variants = _TEXTS[key]
    return variants.get(base_language(lang), variants["en"]).format(**values)
