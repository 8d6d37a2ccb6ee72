"""The penalty/authority graph on a tiny fictional act and order (no index needed)."""
from __future__ import annotations

from assistant.lawgraph import asks_penalty, build_graph
from ingest.units import Unit

ACT, ORDER, RULES = "Z9990001", "Z9990002", "Z9990003"
NAMES = {"虛構水質測試法": ACT, "虛構放流水測試辦法": ORDER, "虛構水質測試法罰鍰額度裁罰準則": RULES}


def _unit(pcode: str, flno: str, text: str, chapter: str = "") -> Unit:
    name = next(n for n, p in NAMES.items() if p == pcode)
    return Unit(id=f"{pcode}:{flno}", source_kind="law", law_name=name, pcode=pcode, article=f"第 {flno} 條",
                flno=flno, part=0, chapter=chapter, text=text, url="")


UNITS = [
    _unit(ACT, "1", "為測試而制定本法。", "第 一 章 總則"),
    _unit(ACT, "5", "事業排放測試廢水，應取得測試許可證。", "第 二 章 管制"),
    _unit(ACT, "6", "事業應依第二十條所定辦法設置測試人員。", "第 二 章 管制"),
    _unit(ACT, "9", "違反第五條規定者，處新臺幣一萬元以上十萬元以下罰鍰。", "第 三 章 罰則"),
    _unit(ACT, "9-1", "違反第六條或第十八條之一規定者，處新臺幣五千元以上罰鍰。", "第 三 章 罰則"),
    _unit(ACT, "10", "本法所定罰鍰，依行政罰法第十八條審酌之。", "第 三 章 罰則"),
    _unit(ORDER, "1", "本辦法依虛構水質測試法（以下簡稱本法）第五條第二項規定訂定之。"),
    _unit(ORDER, "2", "測試許可證應載明排放口位置。"),
    _unit(RULES, "1", "本準則依虛構水質測試法（以下簡稱本法）第十條規定訂定之。"),
    _unit(RULES, "2", "違反本法第五條者，依本法第九條之罰鍰下限裁處之。"),
    _unit(RULES, "3", "測試人員違反虛構放流水測試辦法者，依第二條計算之罰鍰額度裁處。"),
]


def _graph():
    articles: dict[str, list[Unit]] = {}
    for u in UNITS:
        articles.setdefault(u.article_key, []).append(u)
    return build_graph(articles, NAMES)


def test_penalty_chapter_articles_punish_the_duties_they_cite():
    g = _graph()
    assert g.penalties_of(f"{ACT}:5") == [f"{ACT}:9", f"{RULES}:2"]
    assert g.penalties_of(f"{ACT}:6") == [f"{ACT}:9-1"]
    assert g.penalties_of(f"{ACT}:18-1") == [f"{ACT}:9-1"]
    # Articles outside a 罰則 chapter punish nothing, and another law's article number stays with that law.
    assert g.penalties_of(f"{ACT}:20") == []
    assert g.penalties_of(f"{ACT}:18") == []


def test_an_order_stands_behind_the_act_article_that_authorizes_it():
    g = _graph()
    assert g.authority[ORDER] == [f"{ACT}:5"]
    assert g.authority[RULES] == [f"{ACT}:10"]
    assert ACT not in g.authority


def test_a_penalty_rules_order_cites_the_act_through_honpou():
    g = _graph()
    # 本法第九條 inside the 裁罰準則 is the act's article 9, so the rules follow the penalty.
    assert f"{RULES}:2" in g.penalties_of(f"{ACT}:9")
    # The rules' own authority sentence is not a penalty.
    assert f"{RULES}:1" not in [k for v in g.punishes.values() for k in v]
    # Inside the rules an unqualified 第二條 is the rules' own article, not a duty.
    assert g.penalties_of(f"{RULES}:2") == []


def test_rules_that_name_a_whole_order_punish_its_articles():
    g = _graph()
    assert g.law_penalties == {ORDER: [f"{RULES}:3"]}
    assert {f"{ACT}:9", f"{ACT}:9-1", f"{RULES}:2", f"{RULES}:3"} <= g.penalties


def test_consequence_questions_are_recognised():
    assert asks_penalty("沒有許可證就排水，被查到會怎樣？")
    assert asks_penalty("定檢忘記報會被罰嗎")
    assert not asks_penalty("許可證展延要附哪些文件？")


def test_an_article_cites_the_articles_of_other_laws_it_carries_out():
    g = _graph()
    assert g.cites[f"{RULES}:2"] == [f"{ACT}:5", f"{ACT}:9"]     # 本法 inside an order is its act
    assert f"{ORDER}:1" not in g.cites        # an order's authority sentence is the authority map's business
    assert f"{ACT}:6" not in g.cites          # 第二十條 of the same law: procedure, not a governing rule
    assert f"{ACT}:10" not in g.cites         # 行政罰法 is not a law this graph holds
