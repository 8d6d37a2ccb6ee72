"""The fixed texts a business receives from the service (Traditional Chinese).

Kept in one place so wording can be reviewed by the office without reading
code, and so tests can assert on the same strings the service sends.
"""
from __future__ import annotations

from datetime import datetime

from .office_hours import format_opening, is_open, next_opening
from .settings import OfficeHours

ACK = "已收到您的問題，將由專人確認後回覆，請耐心等候。"
ACK_CLOSED = "目前為非上班時間，我們將於{opening}起處理您的問題。"

STICKER = "謝謝您的貼圖！如有水污染防治許可相關問題，請直接以文字輸入，我們將由專人確認後回覆。"
MEDIA = ("已收到您傳送的{what}，已交由承辦人員參考。"
         "若有需要說明的問題，請以文字輸入，我們將由專人確認後回覆。")
UNSUPPORTED = "目前僅能處理文字訊息，請以文字輸入您的問題，我們將由專人確認後回覆。"
WELCOME = ("感謝您加入！這裡提供水污染防治許可申請的諮詢服務。"
           "請直接以文字輸入您的問題，將由專人確認後回覆。")

MEDIA_NAMES = {"image": "圖片", "file": "檔案", "video": "影片", "audio": "語音訊息"}


def acknowledgement(hours: OfficeHours, now: datetime) -> str:
    """The reply-token acknowledgement, naming the next service time when closed."""
    if is_open(hours, now):
        return ACK
    opening = next_opening(hours, now)
    if opening is None:
        return ACK
    return ACK + ACK_CLOSED.format(opening=format_opening(opening))


def media_received(kind: str) -> str:
    return MEDIA.format(what=MEDIA_NAMES.get(kind, "檔案"))
