using System.Diagnostics;
using System.Text.Json;

namespace Ruler.Lab.Tests;

/// <summary>What the page reported about itself after it loaded in the browser.</summary>
/// <param name="Images">Every image: its src and naturalWidth (0 when it did not decode).</param>
/// <param name="Errors">Uncaught errors, failed resource loads and console.error calls, in order.</param>
/// <param name="SummaryIds">The experiment ids in the summary table.</param>
/// <param name="Height">The page's scroll height in CSS pixels.</param>
internal sealed record PageCheck(IReadOnlyList<(string Src, int NaturalWidth)> Images, IReadOnlyList<string> Errors, IReadOnlyList<string> SummaryIds, int Height);

/// <summary>
/// Debian's chromium (/usr/bin/chromium, installed by .ci/run) in headless mode. A page is checked by loading a copy
/// of it, in the same folder so relative image paths resolve, with a script in its head that records errors from the
/// start and, on load, writes what it found into the DOM, which <c>--dump-dom</c> prints.
/// </summary>
internal static class HeadlessChromium
{
    public const string Executable = "/usr/bin/chromium";

    private const string CheckScript = """
        <script>
        (function () {
          var errors = [];
          window.addEventListener('error', function (e) {
            var t = e.target;
            errors.push(t && t !== window && (t.src || t.href) ? 'failed to load ' + (t.src || t.href) : 'uncaught: ' + e.message);
          }, true);
          var consoleError = console.error;
          console.error = function () { errors.push('console.error: ' + Array.prototype.join.call(arguments, ' ')); consoleError.apply(console, arguments); };
          window.addEventListener('load', function () {
            var result = {
              images: Array.prototype.map.call(document.images, function (i) { return { src: i.getAttribute('src'), natural_width: i.naturalWidth }; }),
              errors: errors,
              summary_ids: Array.prototype.map.call(document.querySelectorAll('#summary tr[data-id]'), function (r) { return r.getAttribute('data-id'); }),
              height: document.documentElement.scrollHeight
            };
            var pre = document.createElement('pre');
            pre.id = 'browser-check';
            pre.textContent = JSON.stringify(result);
            document.body.appendChild(pre);
          });
        })();
        </script>
        """;

    private static readonly string[] Flags =
        ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"];

    /// <summary>Loads <paramref name="page"/> and returns what it reported.</summary>
    public static async Task<PageCheck> CheckAsync(string page)
    {
        string html = File.ReadAllText(page);
        int head = html.IndexOf("<head>", StringComparison.Ordinal);
        Assert.True(head >= 0, "the page has no <head>");
        string copy = Path.Combine(Path.GetDirectoryName(page)!, ".browser-check.html");
        File.WriteAllText(copy, html.Insert(head + "<head>".Length, CheckScript));
        try
        {
            string dom = await RunAsync(["--virtual-time-budget=10000", "--dump-dom", new Uri(copy).AbsoluteUri]);
            const string open = "<pre id=\"browser-check\">";
            int start = dom.IndexOf(open, StringComparison.Ordinal);
            Assert.True(start >= 0, "the check script did not report (page did not load?):\n" + dom[..Math.Min(dom.Length, 2000)]);
            int end = dom.IndexOf("</pre>", start, StringComparison.Ordinal);
            string json = System.Net.WebUtility.HtmlDecode(dom[(start + open.Length)..end]);
            var root = JsonDocument.Parse(json).RootElement;
            return new PageCheck(
                [.. root.GetProperty("images").EnumerateArray().Select(i => (i.GetProperty("src").GetString()!, i.GetProperty("natural_width").GetInt32()))],
                [.. root.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!)],
                [.. root.GetProperty("summary_ids").EnumerateArray().Select(e => e.GetString()!)],
                root.GetProperty("height").GetInt32());
        }
        finally
        {
            File.Delete(copy);
        }
    }

    /// <summary>Saves a PNG of <paramref name="page"/> rendered <paramref name="width"/> × <paramref name="height"/> CSS pixels.</summary>
    public static async Task ScreenshotAsync(string page, string png, int width, int height) =>
        await RunAsync([$"--window-size={width},{height}", "--virtual-time-budget=10000", $"--screenshot={png}", new Uri(page).AbsoluteUri]);

    private static async Task<string> RunAsync(string[] arguments)
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: install Debian's chromium package (.ci/run does).");
        string profile = Directory.CreateTempSubdirectory("ruler-lab-chromium-").FullName;
        try
        {
            var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string flag in Flags) start.ArgumentList.Add(flag);
            start.ArgumentList.Add($"--user-data-dir={profile}");
            foreach (string a in arguments) start.ArgumentList.Add(a);
            using var chromium = Process.Start(start)!;
            var stdout = chromium.StandardOutput.ReadToEndAsync();
            var stderr = chromium.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            try
            {
                await chromium.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                chromium.Kill(entireProcessTree: true);
                Assert.Fail("chromium did not finish within 90 s:\n" + await stderr);
            }
            Assert.True(chromium.ExitCode == 0, $"chromium exited with {chromium.ExitCode}:\n{await stderr}");
            return await stdout;
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); }
            catch (IOException) { } // a helper process may still hold a file for a moment; the temp folder is reclaimed later
        }
    }
}
