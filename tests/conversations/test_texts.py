from conversations.texts import text


def test_it_confirms_a_thai_language_choice_without_a_space_before_the_name():
    assert text("lang_set", "th", language="ไทย") == "ตกลง จากนี้จะตอบเป็นภาษาไทย"
