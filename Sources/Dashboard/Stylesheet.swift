/// The one stylesheet, inline in every page (no external assets). Its SHA-256 goes into the
/// Content-Security-Policy, so this exact text is the only style the browser will apply.
enum Stylesheet {
    static let css = """
    :root{--ink:#1d2433;--muted:#5b6577;--line:#dde2ea;--bg:#f5f7fa;--card:#fff;--accent:#2457c5;--bad:#b3261e;--good:#1e7a46}
    *{box-sizing:border-box}
    body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
    header{background:#17213a;color:#fff}
    header .bar{max-width:1240px;margin:0 auto;padding:12px 24px;display:flex;gap:28px;align-items:baseline}
    header .brand{font-weight:700;font-size:18px;letter-spacing:.02em;color:#fff;text-decoration:none}
    header nav a{color:#c9d4ee;text-decoration:none;margin-right:18px}
    header nav a.on,header nav a:hover{color:#fff;border-bottom:2px solid #7aa2ff}
    main{max-width:1240px;margin:0 auto;padding:20px 24px 48px}
    h1{font-size:24px;margin:4px 0 4px}
    h2{font-size:17px;margin:0 0 10px}
    .sub{color:var(--muted);margin:0 0 18px}
    .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:18px;margin-bottom:18px}
    .card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin-bottom:18px;overflow-x:auto}
    .grid .card{margin-bottom:0}
    .kpis{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:18px}
    .kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:140px}
    .kpi b{display:block;font-size:24px}
    .kpi span{color:var(--muted);font-size:13px}
    .kpi.warn b{color:var(--bad)}
    table{border-collapse:collapse;width:100%;font-size:14px}
    th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
    th{background:#eef1f6;font-weight:600;white-space:nowrap}
    tbody tr:nth-child(even){background:#fafbfd}
    td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
    .mono,code,pre{font-family:"DejaVu Sans Mono",ui-monospace,Menlo,Consolas,monospace;font-size:13px}
    .name{overflow-wrap:anywhere}
    h1.mono{font-size:22px}
    .nw{white-space:nowrap}
    .facts{columns:3 300px;column-gap:28px}
    .facts div{break-inside:avoid;padding:2px 0;border-bottom:1px dotted var(--line);overflow-wrap:anywhere}
    a{color:var(--accent)}
    th a{color:inherit;text-decoration:none}
    th a:hover{text-decoration:underline}
    .muted{color:var(--muted)}
    .empty{color:var(--muted);font-style:italic;padding:8px 0}
    .matrix th{white-space:normal;font-size:12px;vertical-align:bottom}
    .matrix td:first-child{white-space:nowrap}
    .matrix td.cell{text-align:center;min-width:72px;font-variant-numeric:tabular-nums}
    .matrix td.cell a{color:inherit;text-decoration:none;display:block}
    .matrix td.cell small{display:block;font-size:11px;opacity:.8}
    .h0{background:#fff}.h1{background:#e3ecfb}.h2{background:#c5d8f7}.h3{background:#9dbdf0}.h4{background:#6b98e3;color:#fff}.h5{background:#2f63c6;color:#fff}
    tr.stale td:first-child{border-left:3px solid var(--bad)}
    form.q{display:flex;gap:8px;flex-wrap:wrap;align-items:center}
    form.q input[type=text]{flex:1 1 420px;padding:8px 10px;border:1px solid #b8c1cf;border-radius:6px;font:14px/1.6 "DejaVu Sans Mono",ui-monospace,monospace}
    form.q input[type=date],form.q input[type=number]{padding:7px 8px;border:1px solid #b8c1cf;border-radius:6px}
    form.q button{padding:8px 16px;border:0;border-radius:6px;background:var(--accent);color:#fff;font-weight:600}
    .error{border:1px solid #e8b4b0;background:#fdf1f0;border-radius:8px;padding:12px 16px;margin:14px 0}
    .error b{color:var(--bad)}
    .error pre{margin:8px 0 0;white-space:pre;overflow-x:auto}
    .chips a{display:inline-block;margin:4px 6px 0 0;padding:2px 10px;border:1px solid var(--line);border-radius:12px;background:#fff;text-decoration:none;font-size:13px}
    .gain{color:var(--good)}.lose{color:var(--bad)}.chg{color:#8a5a00}
    .tag{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
    .tag.gain{background:#e3f4ea}.tag.lose{background:#fbe6e4}.tag.chg{background:#fbf1dc}.tag.kern{background:#e6ecfa;color:#2457c5}
    ol.timeline{list-style:none;margin:0;padding:0 0 0 18px;border-left:3px solid var(--line)}
    ol.timeline>li{position:relative;margin:0 0 16px;padding-left:12px}
    ol.timeline>li::before{content:"";position:absolute;left:-27px;top:4px;width:13px;height:13px;border-radius:50%;background:var(--accent);border:3px solid #fff}
    ol.timeline ul{margin:6px 0 0;padding-left:18px;list-style:none}
    ol.timeline ul li{margin:3px 0}
    .chips+.kpis{margin-top:12px}
    td ul{margin:0;padding:0;list-style:none}
    td ul li{margin:2px 0}
    details{margin:6px 0}
    summary{cursor:pointer}
    pre.hex{background:#f3f5f9;border:1px solid var(--line);border-radius:6px;padding:8px 10px;overflow-x:auto;margin:6px 0}
    svg text{font-family:system-ui,"DejaVu Sans",sans-serif;font-size:12px;fill:#1d2433}
    .legend span{display:inline-block;margin-right:14px;font-size:13px}
    .legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
    .f0{background:#2457c5}.f1{background:#e07b39}.f2{background:#3a9d6a}.f3{background:#8e5cc2}.f4{background:#c2417a}.f5{background:#9aa4b5}
    footer{color:var(--muted);font-size:12px;max-width:1240px;margin:0 auto;padding:0 24px 24px}
    """
}
