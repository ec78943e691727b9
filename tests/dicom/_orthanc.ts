/**
 * Orthanc (Debian `orthanc` + `orthanc-dicomweb`) for the DICOMweb tests: started as a plain process
 * from a config in a temporary folder, on a free port, with HTTP basic auth and its own storage;
 * stopped (and its folder removed) by `stop()`. `orthancMissing` says why it cannot run here (null
 * when it can); the tests skip, printing it.
 */

const PLUGINS = ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"];

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Debian installs the binary in /usr/sbin; other builds put it in /usr/bin. */
const ORTHANC = ["/usr/sbin/Orthanc", "/usr/bin/Orthanc"].find(exists);
const plugin = PLUGINS.find(exists);
export const orthancMissing = !ORTHANC
  ? "no /usr/sbin/Orthanc or /usr/bin/Orthanc (Debian package orthanc)"
  : !plugin
  ? "the DICOMweb plugin is not installed (Debian package orthanc-dicomweb)"
  : null;

/** A port nothing listens on (just closed). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export const USER = "medimg", PASSWORD = "edge-test";
export const AUTH = `Basic ${btoa(`${USER}:${PASSWORD}`)}`;

/** Starts Orthanc on a free port with a temporary storage; resolves once /system answers. */
export async function startOrthanc() {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "medimg-orthanc-" });
  const port = freePort();
  const config = {
    Name: "medimg-test",
    HttpPort: port,
    DicomServerEnabled: false,
    StorageDirectory: `${dir}/storage`,
    IndexDirectory: `${dir}/index`,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [USER]: PASSWORD },
    Plugins: [plugin],
    DicomWeb: { Enable: true, Root: "/dicom-web/" },
  };
  await Deno.writeTextFile(`${dir}/orthanc.json`, JSON.stringify(config));
  const child = new Deno.Command(ORTHANC!, {
    args: [`${dir}/orthanc.json`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/system`, { headers: { authorization: AUTH } });
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      child.kill();
      await child.status;
      throw new Error(`Orthanc did not start in 15 s: ${await stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base: `${url}/dicom-web`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await stderr;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
