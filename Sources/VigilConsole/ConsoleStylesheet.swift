/// The console's one stylesheet, served by Vigil at `/console/assets/console.css` (no
/// outside assets, no inline styles). Colours meet WCAG 2.1 AA contrast on their
/// backgrounds (text #1a1a1a on #ffffff is 17.4:1, links #0b4f9c on #ffffff 8.0:1, the error
/// red #a30000 on #fff4f4 7.6:1, white on the button blue #0b4f9c 8.0:1), and every focusable
/// element has a visible 3 px outline.
enum ConsoleStylesheet {
    /// The console's icon (a page names it, so browsers do not ask `/favicon.ico`, which is not the console's).
    static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#0b4f9c"/><circle cx="8" cy="8" r="3" fill="#ffffff"/></svg>
        """

    /// The stylesheet's text.
    static let css = """
        *{box-sizing:border-box}
        html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;font-size:100%;line-height:1.5;color:#1a1a1a;background:#ffffff}
        body{margin:0}
        a{color:#0b4f9c}
        a:visited{color:#5a2d91}
        :focus-visible,:focus{outline:3px solid #c25e00;outline-offset:2px}
        .skip{position:absolute;left:-9999px;top:0;background:#ffffff;padding:.5rem}
        .skip:focus{left:.5rem}
        header{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;padding:.5rem 1rem;border-bottom:2px solid #0b4f9c}
        .brand{font-weight:700;margin:0}
        nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:1rem;margin:0;padding:0}
        .signout{margin-left:auto;display:flex;gap:.5rem;align-items:center}
        .who{color:#404040;font-size:.9rem}
        main{max-width:72rem;margin:0 auto;padding:1rem}
        footer{border-top:1px solid #767676;padding:.5rem 1rem;color:#404040;font-size:.9rem}
        h1{font-size:1.6rem;margin:.5rem 0 1rem}
        h2{font-size:1.25rem;margin:1.5rem 0 .5rem}
        label{display:block;font-weight:600;margin-top:.75rem}
        .check label,label.inline{display:inline;font-weight:400;margin:0 1rem 0 .25rem}
        input[type=text],input[type=email],input[type=password],input[type=number],select,textarea{font:inherit;width:100%;max-width:40rem;padding:.4rem;border:1px solid #595959;border-radius:3px;background:#ffffff;color:#1a1a1a}
        textarea{min-height:6rem}
        fieldset{border:1px solid #767676;margin:1rem 0;padding:.5rem 1rem;max-width:42rem}
        legend{font-weight:700}
        button{font:inherit;padding:.5rem 1rem;border:2px solid #0b4f9c;border-radius:3px;background:#0b4f9c;color:#ffffff;cursor:pointer}
        button.secondary{background:#ffffff;color:#0b4f9c}
        .hint{color:#404040;font-size:.9rem;margin:.1rem 0}
        .error{color:#a30000;background:#fff4f4;font-weight:600;margin:.25rem 0;padding:.1rem .3rem}
        [aria-invalid=true]{border:2px solid #a30000}
        .problems{border:2px solid #a30000;background:#fff4f4;padding:.5rem 1rem;margin-bottom:1rem}
        .problems h2{margin:.25rem 0;font-size:1.1rem;color:#a30000}
        .notice{border:2px solid #1b6e20;background:#f0fff0;color:#124d16;padding:.5rem 1rem}
        table{border-collapse:collapse;width:100%;margin:.5rem 0}
        th,td{border-bottom:1px solid #949494;padding:.35rem .5rem;text-align:left;vertical-align:top}
        th{background:#f2f2f2}
        dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
        dt{font-weight:600}
        dd{margin:0}
        code,.secret{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
        .secret{display:block;background:#f2f2f2;padding:.5rem;border:1px solid #767676}
        .filters{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-end}
        .filters label{margin-top:0}
        .filters select,.filters input{width:auto}
        .sev-critical{color:#a30000;font-weight:700}
        .sev-high{color:#8a3b00;font-weight:700}
        svg.timeline{max-width:40rem;width:100%;height:auto}
        svg.timeline text{font-size:11px;fill:#1a1a1a}
        .withheld{color:#404040;font-style:italic}
        @media (max-width:40rem){dl{grid-template-columns:1fr}}
        """
}
