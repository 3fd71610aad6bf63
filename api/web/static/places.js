// Maps and "already reported?" suggestions of the places pages (Leaflet from npm, tiles from MAP_TILE_URL).
// Everything works without this script or without tiles: coordinates can be typed, figures are in tables.
(function () {
  "use strict";
  var BATAM = [1.10, 104.03];

  function baseMap(box, centre, zoom) {
    box.hidden = false;
    var map = L.map(box).setView(centre, zoom);
    if (box.dataset.tileUrl) {
      L.tileLayer(box.dataset.tileUrl, { maxZoom: 19, attribution: "&copy; OpenStreetMap" }).addTo(map);
    }
    return map;
  }

  function byId(id) { return document.getElementById(id); }

  // /lapor: pick a point, use the device's location, or type it; then look for similar open complaints.
  function complaintForm() {
    var lat = byId("latitude"), lon = byId("longitude"), box = byId("map");
    if (!lat || !lon) return;
    var map = null, marker = null;
    function typed() { return lat.value && lon.value ? [parseFloat(lat.value), parseFloat(lon.value)] : null; }
    function show(point) {
      if (!map || !point || isNaN(point[0]) || isNaN(point[1])) return;
      if (marker) marker.setLatLng(point); else marker = L.marker(point).addTo(map);
      map.setView(point, Math.max(map.getZoom(), 15));
    }
    function set(latitude, longitude) {
      lat.value = latitude.toFixed(5); lon.value = longitude.toFixed(5);
      show(typed()); lookup();
    }
    if (window.L && box) {
      map = baseMap(box, typed() || BATAM, typed() ? 15 : 11);
      show(typed());
      map.on("click", function (e) { set(e.latlng.lat, e.latlng.lng); });
    }
    [lat, lon].forEach(function (input) { input.addEventListener("change", function () { show(typed()); lookup(); }); });
    var locate = byId("use-location");
    if (locate && !navigator.geolocation) locate.hidden = true;
    if (locate) locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) { set(pos.coords.latitude, pos.coords.longitude); });
    });
    ["title", "body", "category"].forEach(function (id) {
      var input = byId(id); if (input) input.addEventListener("input", lookup);
    });
  }

  var timer = null;
  function lookup() {
    clearTimeout(timer);
    timer = setTimeout(similar, 400);
  }

  function similar() {
    var section = byId("similar"), list = byId("similar-list");
    if (!section || !list) return;
    var params = new URLSearchParams();
    ["title", "body", "category", "latitude", "longitude"].forEach(function (id) {
      var input = byId(id); if (input && input.value.trim()) params.set(id, input.value.trim());
    });
    if (!params.get("title") && !params.get("latitude")) { section.hidden = true; return; }
    fetch(section.dataset.api + "?" + params.toString()).then(function (r) { return r.ok ? r.json() : []; })
      .then(function (offers) {
        list.textContent = "";
        offers.forEach(function (offer) {
          var item = document.createElement("li"), link = document.createElement("a");
          link.href = "../aduan/" + encodeURIComponent(offer.tracking_id) + "#dukung";
          link.textContent = offer.title;
          item.appendChild(link);
          var facts = " · " + offer.tracking_id + (offer.distance_m !== undefined ? " · " + Math.round(offer.distance_m) + " m" : "")
            + " · " + offer.supporters + " ♥ ";
          item.appendChild(document.createTextNode(facts));
          var support = document.createElement("a");
          support.href = link.href; support.className = "support";
          support.textContent = byId("similar-support").textContent;
          item.appendChild(support);
          list.appendChild(item);
        });
        section.hidden = offers.length === 0;
      })
      .catch(function () { section.hidden = true; });
  }

  // hot spot maps (staff map, public figures): a circle per cluster, sized by its count
  function clusterMaps() {
    document.querySelectorAll("[data-clusters]").forEach(function (box) {
      if (!window.L) return;
      var clusters = JSON.parse(box.dataset.clusters);
      var map = baseMap(box, clusters.length ? [clusters[0].latitude, clusters[0].longitude] : BATAM, 12);
      clusters.forEach(function (c) {
        L.circleMarker([c.latitude, c.longitude], { radius: 6 + 3 * Math.sqrt(c.count), color: c.overdue ? "#b42318" : "#1f6feb" })
          .bindPopup((c.area || "") + " · " + (c.category || "") + ": " + c.count).addTo(map);
      });
    });
  }

  complaintForm();
  clusterMaps();
})();
