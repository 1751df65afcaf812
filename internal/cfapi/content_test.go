package cfapi

import (
	"bytes"
	"mime/multipart"
	"net/textproto"
	"testing"
)

func TestEntryModuleFollowsCfEntrypoint(t *testing.T) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for name, src := range map[string]string{"index.js": "export default {}", "chunk.js": "export const x = 1"} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+name+`"; filename="`+name+`"`)
		h.Set("Content-Type", "application/javascript+module")
		p, _ := mw.CreatePart(h)
		p.Write([]byte(src))
	}
	mw.Close()
	m, err := entryModule(mw.FormDataContentType(), "index.js", body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "index.js" || string(m.Body) != "export default {}" {
		t.Fatalf("picked %s: %q", m.Name, m.Body)
	}
	if _, err := entryModule(mw.FormDataContentType(), "missing.js", body.Bytes()); err == nil {
		t.Fatal("an entrypoint that is not a part was accepted")
	}
}

func TestEntryModuleOfAServiceWorkerIsTheBody(t *testing.T) {
	m, err := entryModule("application/javascript", "", []byte("addEventListener('fetch', () => {})"))
	if err != nil || string(m.Body) != "addEventListener('fetch', () => {})" {
		t.Fatalf("%v %q", err, m.Body)
	}
}
