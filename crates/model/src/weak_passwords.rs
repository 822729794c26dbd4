//! Passwords that meet the length and character-class rules and are still
//! the first ones a guessing script tries: a common word or a keyboard run
//! dressed up with capitals, digits and a symbol (`Password12`,
//! `Qwerty1234`, `P@ssw0rd!`, `Admin@2026`), or the account's own name.
//!
//! A password is reduced to its core — lowercased, look-alike symbols read
//! as letters (`@`→a, `0`→o, `1`→i, `3`→e, `$`→s …), digits and symbols
//! stripped from both ends — and refused when that core is empty, a run of
//! one character, a keyboard or alphabet run, a word from [`WEAK_CORES`],
//! or the user name (also backwards). The list is ours: words that the
//! published leak studies keep finding at the top, plus the pinyin and
//! office words a Chinese government office reaches for first.

/// Cores that a guessing script tries first.
const WEAK_CORES: &[&str] = &[
    // English words at the top of every leaked list
    "password",
    "passw",
    "passwd",
    "pass",
    "pwd",
    "admin",
    "administrator",
    "root",
    "user",
    "guest",
    "test",
    "tester",
    "demo",
    "login",
    "welcome",
    "letmein",
    "changeme",
    "default",
    "secret",
    "master",
    "manager",
    "system",
    "sysadmin",
    "super",
    "superman",
    "batman",
    "dragon",
    "monkey",
    "shadow",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "soccer",
    "hello",
    "hellow",
    "iloveyou",
    "trustno",
    "whatever",
    "freedom",
    "starwars",
    "michael",
    "charlie",
    "jordan",
    "hunter",
    "ranger",
    "killer",
    "qwerty",
    "azerty",
    "computer",
    "internet",
    "security",
    "server",
    "database",
    "oracle",
    "mysql",
    "temp",
    "temppass",
    "abc",
    "abcd",
    "abcde",
    "abcdef",
    "abcdefg",
    "abcdefgh",
    "aaa",
    "xxx",
    "zzz",
    // pinyin and office words
    "woaini",
    "aini",
    "nihao",
    "mima",
    "wodemima",
    "mimamima",
    "zhangsan",
    "lisi",
    "wangwu",
    "zhaoliu",
    "zhangwei",
    "wangwei",
    "liwei",
    "zhengfu",
    "zhengwu",
    "gov",
    "govcn",
    "gongzuo",
    "bangong",
    "bangongshi",
    "danwei",
    "renmin",
    "zhongguo",
    "china",
    "beijing",
    "shanghai",
    "liaoning",
    "haicheng",
    "anshan",
    "shenyang",
    "dalian",
    "zhanqun",
    "wangzhan",
    "website",
    "web",
    "www",
    "portal",
    "editor",
    "bianji",
    "shenhe",
    "reviewer",
    "guanli",
    "guanliyuan",
    "xitong",
    "anquan",
    "shenji",
    "auditor",
];

/// Rows of a keyboard and the alphabet: letters inside one (forwards or
/// backwards) are a run, not a password.
const RUNS: &[&str] = &["qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz", "qazwsxedcrfvtgbyhnujmikolp", "plokijuhygtfrdeswaq"];

/// Why `password` is too easy to guess, or `None`.
pub fn weakness(password: &str, username: &str) -> Option<&'static str> {
    let lowered = password.to_lowercase();
    let name = username.to_lowercase();
    if !name.is_empty() && (lowered.contains(&name) || lowered.contains(&name.chars().rev().collect::<String>())) {
        return Some("it contains the user name");
    }
    let core = core(&lowered);
    if core.chars().count() < 3 {
        return Some("it is mostly digits and symbols around a word too short to count");
    }
    if core.chars().all(|c| core.starts_with(c)) {
        return Some("it repeats one character");
    }
    let letters: String = lowered.chars().filter(|c| c.is_alphabetic()).collect();
    let is_run = |s: &str| {
        let backwards: String = s.chars().rev().collect();
        s.chars().count() >= 3 && RUNS.iter().any(|run| run.contains(s) || run.contains(backwards.as_str()))
    };
    if is_run(&core) || is_run(&letters) {
        return Some("it is a run of keys or letters (like qwerty or abcd)");
    }
    let name_letters: String = name.chars().filter(|c| c.is_alphabetic()).collect();
    if WEAK_CORES.contains(&core.as_str()) || core == name_letters {
        return Some("it is a common password with digits or symbols added");
    }
    None
}

/// The word inside the dressing: digits and symbols stripped from both
/// ends, look-alike symbols inside read as the letters they stand for
/// (`p@ssw0rd` → `password`), whatever else is not a letter dropped.
fn core(lowered: &str) -> String {
    let inner = lowered.trim_matches(|c: char| !c.is_alphabetic());
    inner
        .chars()
        .map(|c| match c {
            '@' | '4' => 'a',
            '0' => 'o',
            '1' | '!' | '|' => 'i',
            '3' => 'e',
            '$' | '5' => 's',
            '7' | '+' => 't',
            '8' => 'b',
            c => c,
        })
        .filter(|c| c.is_alphabetic())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::weakness;

    #[test]
    fn dressed_up_common_words_keyboard_runs_and_the_user_name_are_refused() {
        for (password, user) in [
            ("Password12", "zhang"),
            ("Qwerty1234", "zhang"),
            ("P@ssw0rd!", "zhang"),
            ("Admin@2026", "zhang"),
            ("Woaini1314!", "zhang"),
            ("Haicheng@2026", "zhang"),
            ("1qaz@WSX3edc", "zhang"),
            ("Aaaaaaaa1!", "zhang"),
            ("12345678Ab!", "zhang"),
            ("Na-Editor2026", "na-editor"),
            ("rotide-an#2026", "na-editor"),
            ("Asdfgh!2026", "zhang"),
        ] {
            assert!(weakness(password, user).is_some(), "{password} for {user} was accepted");
        }
    }

    #[test]
    fn passwords_people_make_up_pass() {
        for password in ["Shifan-Web-2026", "Test-Staff-Pass-2026", "Test-Admin-Pass-2026", "chun#Tian7Lai", "海城-Niuzhuang-77", "Xk7#pL9q!m2"] {
            assert_eq!(weakness(password, "editor-a"), None, "{password}");
        }
    }
}
