// mamori web interface: the little that needs a script. Everything works
// without it; with it, an import shows the progress of its upload.
(function () {
  'use strict';
  var form = document.getElementById('import-form');
  if (!form || !window.XMLHttpRequest || !window.FormData) {
    return;
  }
  var bar = document.getElementById('import-progress');
  var status = document.getElementById('import-status');
  var button = form.querySelector('button[type=submit]');
  form.addEventListener('submit', function (ev) {
    var file = form.querySelector('input[type=file]');
    if (!file || !file.files || !file.files.length) {
      return;
    }
    ev.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.upload.addEventListener('progress', function (e) {
      if (e.lengthComputable && e.total > 0) {
        bar.max = e.total;
        bar.value = e.loaded;
        status.textContent = Math.floor(100 * e.loaded / e.total) + ' %';
      }
    });
    xhr.upload.addEventListener('load', function () {
      bar.removeAttribute('value');
      status.textContent = form.getAttribute('data-processing');
    });
    xhr.addEventListener('load', function () {
      if (xhr.status < 400 && xhr.responseURL) {
        window.location.assign(xhr.responseURL);
        return;
      }
      bar.hidden = true;
      button.disabled = false;
      status.textContent = form.getAttribute('data-failed') + ' (' + xhr.status + ')';
    });
    xhr.addEventListener('error', function () {
      bar.hidden = true;
      button.disabled = false;
      status.textContent = form.getAttribute('data-failed');
    });
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    xhr.send(new FormData(form));
  });
}());
