"""The features report's style and its script (a filter that only shows and hides; links
that open folded scenarios, and lift the filter, saying so, when it hides their target);
without the script the page reads the same."""

STYLE = """
.verdict{font-size:1.3em;font-weight:bold;margin:.2em 0}.verdict.bad{color:var(--bad)}
.verdict.ok{color:var(--ok)}.verdict.warn{color:#8a5a00}
.mark{display:inline-block;min-width:3.5em;font-weight:bold}
.mark.passed{color:var(--ok)}.mark.failed{color:var(--bad)}.mark.not-run,.mark.none{color:var(--none)}
.rule{margin:1em 0;padding:.3em 1em;border-left:5px solid var(--line)}
.rule.passed{border-color:var(--ok)}.rule.failed{border-color:var(--bad)}
.scenario{margin:.4em 0;padding:.2em .5em;border:1px solid #e2e2e2;border-radius:4px}
.scenario.failed{border-color:var(--bad);background:#fff7f6}
summary{cursor:pointer}
tr.failed td{background:#fde0dd}tr.not-run td{color:var(--none)}
li.step.failed{background:#fde0dd}li.step.not-run{color:var(--none)}
.error pre{border-color:var(--bad)}
#contents>ul{list-style:none;padding-left:0}.to-contents{text-align:right;font-size:.85em}
#contents ul.rules{display:flex;flex-wrap:wrap;gap:.2em 1.2em;list-style:none;padding-left:1em}
#filter label{margin-right:1em}
#notice{position:fixed;left:1em;right:1em;bottom:1em;max-width:36em;margin:0 auto;padding:.6em 1em;
 background:#222;color:#fff;border-radius:4px;z-index:1}
.evidence figure{margin:.4em 0}.evidence .picture{max-width:min(100%,40em)}
.shots{display:flex;flex-wrap:wrap;gap:.8em;align-items:flex-start}
.shots figure{width:22em;margin:0}.shots .picture{width:100%;cursor:zoom-in}
.given .shots figure{width:14em}
.more-shots{flex-basis:100%}.more-shots>figure{display:inline-block;vertical-align:top;margin:.4em}
.zoom{position:absolute;opacity:0;pointer-events:none}
.shots figure:has(.zoom:checked){width:100%}
.zoom:checked+label .picture{width:auto;max-width:100%;cursor:zoom-out}
.zoom:focus-visible+label .picture{outline:2px solid #1a5fb4}
.tests li{overflow-wrap:anywhere}
@media screen and (max-width:40em){.shots figure,.given .shots figure{width:100%}
 .zoom:checked+label{display:block;overflow-x:auto}
 .zoom:checked+label .picture{max-width:none}}
@media print{.given{display:none}.shots figure{width:31%;break-inside:avoid}
 body:has(#print-shots:not(:checked)) .shots{display:none}.print-choice{display:none}}
"""

SCRIPT = """
(function(){
 var form=document.getElementById('filter');form.hidden=false;
 var selects=form.querySelectorAll('select'),notice=document.getElementById('notice'),timer;
 function apply(){
  var want={};selects.forEach(function(s){want[s.dataset.filter]=s.value;});
  var shown={},boxes=0;  /* each scenario once, though shown under each of its rules */
  document.querySelectorAll('details.scenario').forEach(function(d){
   var ok=(!want.status||d.dataset.status===want.status)&&
          (!want.section||d.dataset.section===want.section)&&
          (!want.tag||d.dataset.tags.split(' ').indexOf(want.tag)>=0);
   d.hidden=!ok;if(ok){shown[d.dataset.scenario]=true;boxes++;}
  });
  var active=want.status||want.section||want.tag,bare=0;
  document.querySelectorAll('.rule').forEach(function(r){
   var none=want.status==='none'&&!want.tag&&r.classList.contains('none')&&
            (!want.section||r.parentElement.dataset.section===want.section);  /* no scenario */
   r.hidden=active&&!none&&!r.querySelector('details.scenario:not([hidden])');
   if(none){bare++;}});
  document.querySelectorAll('section.section').forEach(function(s){
   s.hidden=active&&!s.querySelector('.rule:not([hidden])');});
  var n=Object.keys(shown).length;
  document.getElementById('shown').textContent=!active?'':want.status==='none'?
   bare+'件のルール (シナリオなし) を表示中':n+'件のシナリオを表示中'+
   (boxes>n?' (複数のルールに載るものを重ねて数えると'+boxes+'か所)':'');
 }
 selects.forEach(function(s){s.addEventListener('change',function(){
  notice.hidden=true;apply();});});  /* the reader's own choice: no note left over it */
 function say(text){  /* a note at the foot of the window, for a few seconds */
  notice.textContent=text;notice.hidden=false;clearTimeout(timer);
  timer=setTimeout(function(){notice.hidden=true;},8000);}
 function reveal(){  /* a link to a scenario inside a closed one: opened, and shown */
  var id;try{id=decodeURIComponent(location.hash.slice(1));}catch(e){return;}
  var target=id&&document.getElementById(id),lifted=false;
  if(!target){return;}
  for(var d=target;d;d=d.parentElement){if(d.tagName==='DETAILS'){d.open=true;}
   if(d.hidden&&d!==form&&!lifted){  /* filtered out: the filter lifted, and said so */
    selects.forEach(function(s){s.value='';});apply();lifted=true;}}
  if(lifted){say('リンク先が絞り込みで隠れていたため、絞り込みを解除しました。');}
  target.scrollIntoView();}
 window.addEventListener('pageshow',function(){  /* on load, and back at the page: a */
  apply();reveal();});  /* choice the browser kept, restored after this script ran, applied */
 window.addEventListener('hashchange',reveal);
 document.addEventListener('click',function(e){  /* the same link again: no hashchange */
  var a=e.target.closest&&e.target.closest('a[href^="#"]');
  if(a&&a.getAttribute('href')===location.hash){setTimeout(reveal,0);}});
 window.addEventListener('beforeprint',function(){
  document.querySelectorAll('details').forEach(function(d){d.open=true;});});
})();
"""
